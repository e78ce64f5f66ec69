/**
 * The phone's token and its renewal: through the partner's `tokenResolver`, or through a refresh
 * token (`POST /api/webphone/tokens/refresh`, which rotates it: each works once). Renewal is due a
 * third of the token's lifetime before it expires (at most a minute, at least 2 s before).
 */
import { ZorioWebphoneError, fromRestCode } from "./errors";
import type { ConnectOptions, ResolvedToken } from "./public-api";

const MAX_MARGIN_MS = 60000;
const MIN_MARGIN_MS = 2000;
/** A failed renewal is retried this often until the token expires. */
export const RENEW_RETRY_MS = 3000;

function unwrap(value: ResolvedToken): { token: string; expiresAt?: string } {
  return typeof value === "string" ? { token: value } : value;
}

/** `POST /api/webphone/tokens/refresh`: a new token and the next refresh token. */
export async function refreshToken(apiBase: string, refresh: string): Promise<{ token: string; expiresAt: string; refreshToken: string }> {
  let response: Response;
  let body: Record<string, unknown> = {};
  try {
    response = await fetch(`${apiBase}/api/webphone/tokens/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
      credentials: "omit",
      cache: "no-store",
    });
    body = (await response.json()) as Record<string, unknown>;
  } catch (err) {
    throw new ZorioWebphoneError("bootstrap_failed", { stage: "refresh", cause: String(err) });
  }
  const { token, expires_at: expiresAt, refresh_token: next } = body;
  if (!response.ok || typeof token !== "string" || typeof next !== "string") {
    const code = typeof body.code === "string" ? body.code : "";
    throw new ZorioWebphoneError(fromRestCode(code), { stage: "refresh", status: response.status, server_code: code, message: body.message });
  }
  return { token, expiresAt: String(expiresAt ?? ""), refreshToken: next };
}

export class TokenKeeper {
  token: string;
  /** When the current token expires (ms since the epoch; NaN: unknown). */
  expiresAt = NaN;
  private refresh: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Told of each renewed token (the softphone remembers the session with it). */
  onRenewed: ((token: string, refreshToken: string | undefined) => void) | null = null;

  constructor(private readonly opts: ConnectOptions, private readonly apiBase: string) {
    this.token = opts.token ?? "";
    this.refresh = opts.refreshToken || undefined;
  }

  get canRenew(): boolean {
    return !!(this.opts.tokenResolver || this.refresh);
  }

  /** A new token from the resolver or the refresh token; resolves with whether its expiry is known. */
  async renew(): Promise<boolean> {
    let next: { token: string; expiresAt?: string };
    if (this.opts.tokenResolver) {
      try {
        next = unwrap(await this.opts.tokenResolver());
      } catch (err) {
        throw new ZorioWebphoneError("bootstrap_failed", { stage: "tokenResolver", cause: String(err) });
      }
    } else if (this.refresh) {
      const rotated = await refreshToken(this.apiBase, this.refresh);
      this.refresh = rotated.refreshToken;
      next = rotated;
    } else {
      throw new ZorioWebphoneError("bootstrap_failed", { stage: "token", cause: "no token, tokenResolver or refreshToken" });
    }
    if (!next.token) throw new ZorioWebphoneError("bootstrap_failed", { stage: "tokenResolver", cause: "empty token" });
    this.token = next.token;
    this.expiresAt = Date.parse(next.expiresAt ?? "");
    this.onRenewed?.(this.token, this.refresh);
    return !Number.isNaN(this.expiresAt);
  }

  /** Calls `due` when the current token should be renewed (nothing when it cannot be, or its expiry is unknown). */
  schedule(expiresAt: string | number | undefined, due: () => void): void {
    this.cancel();
    const expiry = typeof expiresAt === "number" ? expiresAt : Date.parse(expiresAt ?? "");
    if (!Number.isNaN(expiry)) this.expiresAt = expiry;
    if (!this.canRenew || Number.isNaN(this.expiresAt)) return;
    const life = this.expiresAt - Date.now();
    const margin = Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, life / 3));
    this.timer = setTimeout(due, Math.min(Math.max(0, life - margin), 2 ** 31 - 1));
  }

  retryLater(due: () => void): void {
    this.cancel();
    if (Date.now() + RENEW_RETRY_MS < this.expiresAt) this.timer = setTimeout(due, RENEW_RETRY_MS);
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
