/**
 * In-memory fakes for the SDK's seams: a WebSocket (the `WebSocket` option), a media layer (the
 * `media` option) and a Call's host. The server side of a test drives them frame by frame.
 */
import assert from "node:assert/strict";
import type { AudioManager } from "../src/audio";
import { Call, type CallHost } from "../src/call";
import { ZorioWebphoneError } from "../src/errors";
import type { MediaLayer, PhoneEventName, PhoneEvents, WebSocketFactory } from "../src/public-api";
import { Transport } from "../src/transport";

export type Json = Record<string, unknown>;

/** One fake socket; `sockets` below records every one the code under test opened. */
export class FakeSocket extends EventTarget {
  readyState = 0;
  readonly sent: Json[] = [];
  closedWith: { code: number | undefined; reason: string | undefined } | null = null;

  constructor(readonly url: string) {
    super();
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send on a socket in state ${this.readyState}`);
    this.sent.push(JSON.parse(data) as Json);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.closedWith = { code, reason };
    this.readyState = 3;
    queueMicrotask(() => this.dispatchEvent(closeEvent(code ?? 1005)));
  }

  // -- the server's side ---------------------------------------------------------------------------

  accept(): void {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }

  receive(frame: unknown): void {
    this.receiveText(JSON.stringify(frame));
  }

  receiveText(text: string): void {
    this.dispatchEvent(new MessageEvent("message", { data: text }));
  }

  /** The connection breaks (not closed by the client). */
  drop(code = 1006): void {
    this.readyState = 3;
    this.dispatchEvent(closeEvent(code));
  }

  /** Frames of one type the client sent, oldest first. */
  sentOf(type: string): Json[] {
    return this.sent.filter((frame) => frame.type === type);
  }

  lastSent(type: string): Json {
    const frame = this.sentOf(type).at(-1);
    if (!frame) throw new Error(`no ${type} sent; sent: ${this.sent.map((f) => f.type).join(", ")}`);
    return frame;
  }
}

function closeEvent(code: number): Event {
  return Object.assign(new Event("close"), { code, reason: "", wasClean: code === 1000 });
}

/** A WebSocket constructor to inject, and the sockets it made. */
export function fakeSockets(): { WebSocket: WebSocketFactory; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  class Socket extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Socket as unknown as WebSocketFactory,
    sockets,
    last() {
      const socket = sockets.at(-1);
      if (!socket) throw new Error("no socket was opened");
      return socket;
    },
  };
}

/** The ZorioWebphoneError `promise` rejects with (fails the test if it resolves or rejects with another error). */
export function rejection(promise: Promise<unknown>): Promise<ZorioWebphoneError> {
  return promise.then(
    () => assert.fail("expected a rejection"),
    (err: unknown) => {
      assert.ok(err instanceof ZorioWebphoneError, `not a ZorioWebphoneError: ${String(err)}`);
      return err;
    },
  );
}

/** Resolves once `check()` is true, letting timers and microtasks run in between. */
export async function until(check: () => boolean, what = "condition", timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export const REGISTERED = { type: "registered", extension: "1001", user: { display_name: "Alice" }, calls: [] };

const openTransports: Transport[] = [];

/** Closes every transport `openTransport` made (call it after each test: no timer outlives its test). */
export function closeTransports(): void {
  for (const transport of openTransports.splice(0)) transport.close();
}

/** A transport over a fake socket, opened and registered. */
export async function openTransport(options: { reconnect?: Json; log?: unknown[][] } = {}) {
  const net = fakeSockets();
  const tokens: boolean[] = [];
  const transport = new Transport({
    url: "ws://zorio.test/ws/webphone/",
    token: async (fresh) => {
      tokens.push(fresh);
      return fresh ? "fresh-token" : "token";
    },
    WebSocket: net.WebSocket,
    reconnect: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3, ...options.reconnect },
    log: (...args) => options.log?.push(args),
  });
  openTransports.push(transport);
  const opened = transport.open();
  await until(() => net.sockets.length === 1, "the socket");
  net.last().accept();
  net.last().receive(REGISTERED);
  const registered = await opened;
  return { net, transport, tokens, registered };
}

// -- media ------------------------------------------------------------------------------------------

export class FakeTrack {
  enabled = true;
  stopped = false;
  readonly kind = "audio";
  stop(): void {
    this.stopped = true;
  }
}

export class FakeStream {
  readonly tracks = [new FakeTrack()];
  getAudioTracks(): FakeTrack[] {
    return this.tracks;
  }
  getTracks(): FakeTrack[] {
    return this.tracks;
  }
}

export class FakePeerConnection extends EventTarget {
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  signalingState: RTCSignalingState = "stable";
  readonly iceGatheringState = "complete";
  iceConnectionState: RTCIceConnectionState = "new";
  readonly candidates: RTCIceCandidateInit[] = [];
  closed = false;

  constructor(readonly config: RTCConfiguration) {
    super();
  }

  async createOffer(): Promise<RTCSessionDescriptionInit> {
    return { type: "offer", sdp: "v=0 client-offer" };
  }
  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    return { type: "answer", sdp: "v=0 client-answer" };
  }
  async setLocalDescription(description: RTCSessionDescriptionInit): Promise<void> {
    this.localDescription = description;
    this.signalingState = description.type === "offer" ? "have-local-offer" : "stable";
  }
  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    this.remoteDescription = description;
    this.signalingState = description.type === "offer" ? "have-remote-offer" : "stable";
  }
  async addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    this.candidates.push(candidate);
  }
  addTrack(): void {}
  getSenders(): RTCRtpSender[] {
    return [];
  }
  close(): void {
    this.closed = true;
  }
}

export function fakeMedia(): MediaLayer & { pcs: FakePeerConnection[]; streams: FakeStream[] } {
  const pcs: FakePeerConnection[] = [];
  const streams: FakeStream[] = [];
  return {
    pcs,
    streams,
    async getUserMedia() {
      const stream = new FakeStream();
      streams.push(stream);
      return stream as unknown as MediaStream;
    },
    createPeerConnection(config) {
      const pc = new FakePeerConnection(config);
      pcs.push(pc);
      return pc as unknown as RTCPeerConnection;
    },
    async enumerateDevices() {
      return [];
    },
  };
}

// -- a Call's host -----------------------------------------------------------------------------------

export interface Emitted {
  event: PhoneEventName;
  payload: unknown;
}

/** What a Phone does for its calls, recorded; frames with a call_id go to the call of that id. */
export class FakeHost implements CallHost {
  readonly media = fakeMedia();
  readonly audio = { attachRemote: () => null, detach: () => undefined } as unknown as AudioManager;
  readonly debugEnabled = true;
  readonly emitted: Emitted[] = [];
  readonly calls: Call[] = [];
  readonly consults: { parent: Call; callId: string; uuid: string; target: string }[] = [];
  readonly logs: unknown[][] = [];
  wrapUpSeconds = 0;
  readonly extension = "1001";
  readonly ownName = "Alice";

  constructor(readonly transport: Transport) {
    transport.on("frame", (frame) => {
      const callId = "call_id" in frame ? frame.call_id : undefined;
      this.calls.find((call) => call.id === callId)?.handle(frame);
    });
  }

  iceServers(): RTCIceServer[] {
    return [];
  }
  inputDeviceId(): string | undefined {
    return undefined;
  }
  emit<E extends PhoneEventName>(event: E, payload: PhoneEvents[E]): void {
    this.emitted.push({ event, payload });
  }
  changed(): void {}
  async holdOthers(): Promise<void> {}
  consult(parent: Call, callId: string, uuid: string, target: string): Call {
    this.consults.push({ parent, callId, uuid, target });
    const call = new Call(this, "outgoing", target, "originating");
    call.id = callId;
    call.uuid = uuid || null;
    call.consultFor = parent;
    this.calls.push(call);
    return call;
  }
  consultOf(call: Call): Call | undefined {
    return this.calls.find((c) => c.consultFor === call && c.live);
  }
  log(...args: unknown[]): void {
    this.logs.push(args);
  }

  events(): PhoneEventName[] {
    return this.emitted.map((e) => e.event);
  }
}
