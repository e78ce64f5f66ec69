/**
 * The signalling connection: one WebSocket at a time, `auth` as the first frame, request/reply
 * correlation by `req_id`, keep-alive pings, and reconnection with exponential backoff and jitter.
 */
import { Emitter } from "./emitter";
import { ZorioWebphoneError, fromServerError } from "./errors";
import { type OutgoingFrame, type ServerMessage, type ServerMessageOf, parseServerFrame } from "./frames";
import type { ReconnectOptions, WebSocketFactory } from "./public-api";

type Registered = ServerMessageOf<"registered">;

export const REQUEST_TIMEOUT_MS = 15000;
export const AUTH_TIMEOUT_MS = 10000;
export const PING_INTERVAL_MS = 20000;
const CLOSE_NORMAL = 1000;
/** After closing the old socket, before opening the new one: the server sees the close first. */
export const REOPEN_SETTLE_MS = 150;
const JITTER = 0.3;

interface Pending {
  resolve: (frame: ServerMessage) => void;
  reject: (error: ZorioWebphoneError) => void;
  match?: (frame: ServerMessage) => boolean;
  timer: ReturnType<typeof setTimeout>;
}

export interface TransportEvents {
  frame: ServerMessage;
  /** Registered again after a drop (payload: the `registered` frame). */
  reregistered: Registered;
  dropped: { code: number };
  reconnecting: { attempt: number; delayMs: number };
  failed: { attempts: number; cause: string };
}

export interface TransportOptions {
  url: string;
  /** The current token; `fresh` asks for a new one (after `unauthorized`). */
  token: (fresh: boolean) => Promise<string>;
  WebSocket: WebSocketFactory;
  reconnect?: ReconnectOptions;
  log: (...args: unknown[]) => void;
}

export function backoffDelay(attempt: number, base: number, max: number, random = Math.random): number {
  const raw = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(raw * (1 - JITTER + 2 * JITTER * random()));
}

export class Transport extends Emitter<TransportEvents> {
  socket: WebSocket | null = null;
  private pending = new Map<string, Pending>();
  private seq = 0;
  private closedByUs = false;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private awaitingPong = false;

  constructor(private readonly opts: TransportOptions) {
    super();
  }

  /** Opens the socket and authenticates; resolves with the `registered` frame. */
  async open(freshToken = false): Promise<Registered> {
    this.closedByUs = false;
    const token = await this.opts.token(freshToken);
    return new Promise((resolve, reject) => {
      let settled = false;
      let registered = false;
      let socket: WebSocket;
      try {
        socket = new this.opts.WebSocket(this.opts.url);
      } catch (err) {
        reject(new ZorioWebphoneError("bootstrap_failed", { stage: "websocket", cause: String(err) }));
        return;
      }
      this.socket = socket;
      const fail = (details: Record<string, unknown>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const unauthorized = details.server_code === "unauthorized";
        reject(new ZorioWebphoneError("bootstrap_failed", { stage: "websocket", unauthorized, ...details }));
        try { socket.close(); } catch { /* already closed */ }
      };
      const timer = setTimeout(() => fail({ cause: "timeout" }), AUTH_TIMEOUT_MS);
      socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", token })));
      socket.addEventListener("message", (event: MessageEvent) => {
        const parsed = parseServerFrame(String(event.data));
        if ("problem" in parsed) {
          this.opts.log("dropped a frame:", parsed.problem);
          return;
        }
        const frame = parsed.frame;
        if (!settled) {
          if (frame.type === "registered") {
            settled = registered = true;
            clearTimeout(timer);
            this.startPing();
            resolve(frame);
          } else if (frame.type === "error") {
            fail({ server_code: frame.code, message: frame.message });
          }
          return;
        }
        this.dispatch(frame);
      });
      socket.addEventListener("close", (event: CloseEvent) => {
        if (!settled) {
          fail({ cause: "closed", close_code: event.code });
          return;
        }
        if (!registered || this.socket !== socket) return;
        this.socket = null;
        this.stopPing();
        this.rejectAll("connection_lost");
        if (!this.closedByUs) {
          this.emit("dropped", { code: event.code });
          this.scheduleReconnect(1);
        }
      });
      socket.addEventListener("error", () => this.opts.log("websocket error"));
    });
  }

  /**
   * Moves to a new socket (after a token renewal): the old one is closed first, so that the server
   * detaches this device's calls and re-attaches them to the new one. Resolves with its `registered`.
   */
  async reopen(): Promise<Registered> {
    const old = this.socket;
    this.socket = null; // its close event is not a drop
    this.stopPing();
    if (old && old.readyState <= 1) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, AUTH_TIMEOUT_MS);
        old.addEventListener("close", () => { clearTimeout(timer); resolve(); });
        old.close(CLOSE_NORMAL, "token renewed");
      });
    }
    await new Promise((resolve) => setTimeout(resolve, REOPEN_SETTLE_MS));
    try {
      return await this.open();
    } catch (err) {
      if (!this.closedByUs) {
        this.emit("dropped", { code: 0 });
        this.scheduleReconnect(1, (err as ZorioWebphoneError).details?.unauthorized === true);
      }
      throw err;
    }
  }

  /** A request is waiting for its reply. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  get connected(): boolean {
    return !!this.socket && this.socket.readyState === 1;
  }

  send(frame: OutgoingFrame): void {
    this.sendRaw(frame);
  }

  /** Sends any object as a frame (`phone.debug.send`, protocol tests); `send` is the typed way. */
  sendRaw(frame: Record<string, unknown>): void {
    const socket = this.socket;
    if (!socket || !this.connected) throw new ZorioWebphoneError("bootstrap_failed", { stage: "send", cause: "not connected" });
    socket.send(JSON.stringify(frame));
  }

  /**
   * Sends a frame with a fresh `req_id`; resolves with the first reply carrying it (or matching
   * `match`), rejects with the server's `error`.
   */
  request(frame: OutgoingFrame, match?: (reply: ServerMessage) => boolean): Promise<ServerMessage> {
    const reqId = `r${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new ZorioWebphoneError("bootstrap_failed", { stage: "request", cause: "timeout", type: frame.type }));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(reqId, { resolve, reject, match, timer });
      try {
        this.send({ ...frame, req_id: reqId });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(reqId);
        reject(err as ZorioWebphoneError);
      }
    });
  }

  close(): void {
    this.closedByUs = true;
    clearTimeout(this.retryTimer);
    this.stopPing();
    this.rejectAll("closed");
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= 1) socket.close(CLOSE_NORMAL, "bye");
  }

  private dispatch(frame: ServerMessage): void {
    if (frame.type === "pong") {
      this.awaitingPong = false;
      return;
    }
    const reqId = "req_id" in frame ? frame.req_id : undefined;
    for (const [id, p] of this.pending) {
      const byId = reqId === id;
      if (byId || (frame.type !== "error" && p.match?.(frame))) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (frame.type === "error") p.reject(fromServerError(frame));
        else p.resolve(frame);
        break;
      }
    }
    this.emit("frame", frame);
  }

  private rejectAll(cause: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ZorioWebphoneError("bootstrap_failed", { stage: "request", cause }));
    }
    this.pending.clear();
  }

  private startPing(): void {
    this.stopPing();
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        this.opts.log("no pong: reconnecting");
        this.socket?.close();
        return;
      }
      this.awaitingPong = true;
      try { this.send({ type: "ping" }); } catch { /* the close handler reconnects */ }
    }, PING_INTERVAL_MS);
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
  }

  private scheduleReconnect(attempt: number, freshToken = false): void {
    const { maxAttempts = 8, baseDelayMs = 500, maxDelayMs = 15000 } = this.opts.reconnect ?? {};
    if (attempt > maxAttempts) {
      this.emit("failed", { attempts: maxAttempts, cause: "limit" });
      return;
    }
    const delayMs = backoffDelay(attempt, baseDelayMs, maxDelayMs);
    this.emit("reconnecting", { attempt, delayMs });
    this.retryTimer = setTimeout(() => {
      if (this.closedByUs) return;
      this.open(freshToken).then(
        (registered) => this.emit("reregistered", registered),
        (err: ZorioWebphoneError) => {
          this.opts.log("reconnect attempt failed", attempt, err.details);
          if (!this.closedByUs) this.scheduleReconnect(attempt + 1, err.details.unauthorized === true);
        },
      );
    }, delayMs);
  }
}
