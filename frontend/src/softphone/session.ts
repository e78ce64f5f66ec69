/**
 * The session the softphone remembers for its tab (sessionStorage), bound to the host page's origin
 * and to the tenant its token resolved to. One tab may show pages of several partners on one site
 * (a.crm.example, b.crm.example): their softphone iframes then share this storage, so a session is
 * resumed only for the host origin it was remembered for, and only as its tenant; the phone checks
 * the tenant again once the token resolves. Sessions remembered in an older format are dropped unread.
 */

/** Keys of older formats: they were bound to nothing. */
const LEGACY_KEYS: readonly string[] = ["zorio-softphone-token"];
const PREFIX = "zorio-softphone-session:v2 ";

export interface Remembered {
  /** The host page's origin it was remembered for. */
  origin: string;
  /** The tenant's slug, as sip-config gave it for the token. */
  tenant: string;
  token: string;
  /** Renews the token (POST /api/webphone/tokens/refresh); the latest of its chain. */
  refreshToken?: string;
}

/** The storage, or null where the browser refuses it (blocked third-party storage throws on access). */
function storageOf(get: () => Storage): Storage | null {
  try {
    return get();
  } catch {
    return null;
  }
}

function parse(raw: string | null): Remembered | null {
  try {
    const value = JSON.parse(raw ?? "") as Partial<Remembered> | null;
    if (typeof value?.origin !== "string" || typeof value.tenant !== "string" || typeof value.token !== "string") return null;
    if (!value.origin || !value.tenant || !value.token) return null;
    const refreshToken = typeof value.refreshToken === "string" && value.refreshToken ? value.refreshToken : undefined;
    return { origin: value.origin, tenant: value.tenant, token: value.token, ...(refreshToken ? { refreshToken } : {}) };
  } catch {
    return null;
  }
}

export class SessionMemory {
  private readonly storage: Storage | null;

  /** `origin`: the verified origin of the host page this iframe is in. */
  constructor(private readonly origin: string, storage: () => Storage = () => sessionStorage) {
    this.storage = storageOf(storage);
    for (const key of LEGACY_KEYS) this.storage?.removeItem(key);
  }

  /** The key of a session: the host origin and the tenant are part of it. */
  static keyOf(origin: string, tenant: string): string {
    return PREFIX + JSON.stringify([origin, tenant]);
  }

  /**
   * This host origin's session, as `tenant` when one is given (the page's own tenant); sessions of
   * other host origins are never returned nor dropped. A malformed one, or one under a key its
   * content does not match, is dropped.
   */
  recall(tenant: string): Remembered | null {
    for (const [key, session] of this.entries()) {
      if (!session || key !== SessionMemory.keyOf(session.origin, session.tenant)) this.storage?.removeItem(key);
      else if (this.origin && session.origin === this.origin && (!tenant || session.tenant === tenant)) return session;
    }
    return null;
  }

  /** Remembers `token` (and the refresh token that renews it) as this host origin's one session, for `tenant`. */
  remember(tenant: string, token: string, refreshToken?: string): void {
    if (!this.origin || !tenant || !token) return;
    this.forget();
    const session: Remembered = { origin: this.origin, tenant, token, ...(refreshToken ? { refreshToken } : {}) };
    try {
      this.storage?.setItem(SessionMemory.keyOf(this.origin, tenant), JSON.stringify(session));
    } catch { /* full or refused: the session is simply not remembered */ }
  }

  /** Forgets this host origin's sessions (whatever their tenant). */
  forget(): void {
    for (const [key, session] of this.entries()) if (session?.origin === this.origin) this.storage?.removeItem(key);
  }

  private entries(): [string, Remembered | null][] {
    const storage = this.storage;
    if (!storage) return [];
    const keys: string[] = [];
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key?.startsWith(PREFIX)) keys.push(key);
    }
    return keys.map((key) => [key, parse(storage.getItem(key))]);
  }
}
