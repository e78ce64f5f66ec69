/**
 * The few browser globals a Phone touches outside its injectable seams (WebSocket, media): `fetch`
 * for the REST calls (answered by a fake server in the test), `Audio` for the ringtone, the window's
 * `addEventListener` for pagehide. Installed per test and removed afterwards.
 */
import type { Json } from "./fakes";

export interface FakeRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Json | null;
}

/** Answers a REST request: `[status, body]`. */
export type Route = (request: FakeRequest) => [number, Json] | Promise<[number, Json]>;

class FakeAudio {
  loop = false;
  preload = "";
  currentTime = 0;
  srcObject: unknown = null;
  autoplay = false;
  constructor(readonly src = "") {}
  play(): Promise<void> {
    return Promise.resolve();
  }
  pause(): void {}
}

const saved = new Map<string, PropertyDescriptor | undefined>();

function install(name: string, value: unknown): void {
  if (!saved.has(name)) saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
}

/** Installs the globals; `routes` answer fetch by path (`/api/webphone/sip-config`…). Returns the requests seen. */
export function fakeBrowser(routes: Record<string, Route>): FakeRequest[] {
  const requests: FakeRequest[] = [];
  install("fetch", async (input: string, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const request: FakeRequest = { url: url.pathname + url.search, method: init.method ?? "GET", headers, body: init.body ? (JSON.parse(String(init.body)) as Json) : null };
    requests.push(request);
    const route = routes[url.pathname];
    const [status, body] = route ? await route(request) : [404, { code: "not_found", message: "No such API endpoint." }];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  });
  install("Audio", FakeAudio);
  install("addEventListener", () => undefined);
  install("removeEventListener", () => undefined);
  install("document", { addEventListener: () => undefined, removeEventListener: () => undefined });
  return requests;
}

export function restoreBrowser(): void {
  for (const [name, descriptor] of saved) {
    if (descriptor) Object.defineProperty(globalThis, name, descriptor);
    else delete (globalThis as Record<string, unknown>)[name];
  }
  saved.clear();
}

export const SIP_CONFIG: Json = {
  extension: "1001", display_name: "Alice", user: { username: "alice", display_name: "Alice" },
  tenant: { slug: "demo", name: "Demo" }, ws_url: "ws://zorio.test/ws/webphone/", ice_servers: [],
  profile: { enabled: true, recording: false, call_waiting: true }, theme: null, locale: "en",
  token_expires_at: "2999-01-01T00:00:00Z",
};
