/**
 * The postMessage bridge between a host page (softphone.js) and the softphone iframe: one versioned
 * envelope `{zorio: {v, type, id, payload}}`. Requests get one `reply` with the same id; events
 * have their own ids. Both sides check `event.origin` and `event.source` before `unpack`.
 */

export const BRIDGE_VERSION = 1;

/**
 * Host -> iframe requests; `hello` answers `ready`, proving the host's origin to the iframe;
 * `event.result` carries what a host callback returned (or resolved to) for the event it names.
 */
export type RequestType =
  | "hello" | "login" | "logout" | "call" | "css" | "appearance" | "schema" | "card.value" | "options.results"
  | "event.result";
/**
 * Iframe -> host: `ready` once loaded, `reply` to a request, `event` for the host's callbacks,
 * `notice` to show (payload `{title, body}`) or close (payload null) the host page's notification of a
 * ringing call (id: its tag) where the iframe may not show one. Service worker -> softphone page:
 * `notification`, a click on a call's notification (worker.ts).
 */
export type NoticeType = "ready" | "reply" | "event" | "notice" | "notification";
export type MessageType = RequestType | NoticeType;

export interface Envelope<P = unknown> {
  v: number;
  type: MessageType;
  id: string;
  payload: P;
}

export interface ReplyPayload {
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

export interface EventPayload {
  name: string;
  args: unknown[];
  /** The iframe waits for the callback's result (`event.result` with this event's id). */
  wantsResult?: boolean;
}

const TYPES: readonly MessageType[] = [
  "hello", "login", "logout", "call", "css", "appearance", "schema", "card.value", "options.results", "event.result",
  "ready", "reply", "event", "notice", "notification",
];

export function pack<P>(type: MessageType, id: string, payload: P): { zorio: Envelope<P> } {
  return { zorio: { v: BRIDGE_VERSION, type, id, payload } };
}

/** The envelope of a message, or null for anything else (other scripts' messages, other versions). */
export function unpack(data: unknown): Envelope | null {
  const env = (data as { zorio?: Envelope } | null)?.zorio;
  if (!env || typeof env !== "object" || env.v !== BRIDGE_VERSION) return null;
  if (!TYPES.includes(env.type) || typeof env.id !== "string") return null;
  return env;
}

/** Origin of a URL, or "" when it has none. */
export function originOf(url: string, base?: string): string {
  try {
    const origin = new URL(url, base).origin;
    return origin === "null" ? "" : origin;
  } catch {
    return "";
  }
}
