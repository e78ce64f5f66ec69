/**
 * The Phone: bootstrap (sip-config -> WebSocket -> registered), the live calls, token refresh,
 * reconnection with re-attachment of live calls, pagehide and teardown.
 */
import { AudioManager } from "./audio";
import { Call, type CallHost } from "./call";
import { fetchSipConfig, type SipConfig } from "./config";
import { runDiagnose } from "./diagnose";
import { Emitter } from "./emitter";
import { ZorioWebphoneError, audioDeviceError, fromServerError, isMissingDevice } from "./errors";
import { type FrameHandlers, type ServerMessage, type ServerMessageOf, dispatchFrame } from "./frames";
import { audioConstraints, browserMedia } from "./media";
import { strictNumber } from "./numbers";
import type {
  AppearanceOptions, CallDirection, CallOptions, ConnectOptions, DiagnoseResult, MediaLayer, PhoneApi, PhoneDebug,
  PhoneEventName, PhoneEvents, PhoneStatus, ResolvedToken, UnregisteredEvent,
} from "./public-api";
import { Transport } from "./transport";

export const TOKEN_REFRESH_MARGIN_MS = 60000;
const MIN_REFRESH_MS = 5000;
const MAX_FRAMES_KEPT = 500;
const DEFAULT_WRAP_UP_S = 10;

/** Where the UI attaches (set by ui/element.ts, so headless builds of the phone need no DOM code). */
export interface PhoneView {
  update(): void;
  setAppearance(options: AppearanceOptions): void;
  destroy(): void;
}

function unwrapToken(value: ResolvedToken): { token: string; expiresAt?: string } {
  return typeof value === "string" ? { token: value } : value;
}

/** One entry of `registered.calls` (a live call the server kept through the drop). */
interface ListedCall {
  callId: string;
  uuid: string | null;
  state: string;
  direction: CallDirection;
  number: string;
}

/** `registered.calls` entries are objects (checked with the frame); their fields are read here. */
function listedCall(entry: Record<string, unknown>): ListedCall | null {
  if (typeof entry.call_id !== "string") return null;
  return {
    callId: entry.call_id,
    uuid: typeof entry.uuid === "string" ? entry.uuid : null,
    state: typeof entry.state === "string" ? entry.state : "",
    direction: entry.direction === "incoming" ? "incoming" : "outgoing",
    number: typeof entry.number === "string" ? entry.number : "",
  };
}

export class Phone extends Emitter<PhoneEvents> implements PhoneApi, CallHost {
  status: PhoneStatus = "connecting";
  extension = "";
  user: Record<string, unknown> = {};
  config!: SipConfig;
  transport!: Transport;
  readonly media: MediaLayer;
  readonly audio: AudioManager;
  readonly debugEnabled: boolean;
  readonly wrapUpSeconds: number;
  view: PhoneView | null = null;
  audioInputDeviceId: string | undefined;
  audioOutputDeviceId: string | undefined;
  private token: string;
  private callList: Call[] = [];
  private readonly frames: ServerMessage[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private torn = false;

  constructor(readonly opts: ConnectOptions, readonly apiBase: string, ringtoneUrl: string) {
    super();
    this.token = opts.token ?? "";
    this.media = opts.media ?? browserMedia;
    this.debugEnabled = !!opts.debug;
    this.wrapUpSeconds = opts.wrapUpSeconds ?? DEFAULT_WRAP_UP_S;
    this.audioInputDeviceId = opts.audioInputDeviceId;
    this.audioOutputDeviceId = opts.audioOutputDeviceId;
    this.audio = new AudioManager(
      ringtoneUrl,
      (what) => this.report(new ZorioWebphoneError("audio_autoplay_blocked", { what })),
      () => this.view?.update(),
    );
    if (opts.onError) this.on("error", opts.onError);
    const sink = this.audioOutputDeviceId;
    if (sink) {
      // A stale id (headset unplugged) must not break connect(): report it and use the default device.
      this.audio.setSink(sink).catch((err: unknown) => {
        if (this.audioOutputDeviceId === sink) this.audioOutputDeviceId = undefined;
        this.report(audioDeviceError("audiooutput", sink, err));
        this.view?.update();
      });
    }
  }

  // -- bootstrap ------------------------------------------------------------------------------

  async bootstrap(): Promise<void> {
    if (!this.token && !this.opts.tokenResolver) {
      throw new ZorioWebphoneError("bootstrap_failed", { stage: "token", cause: "no token and no tokenResolver" });
    }
    if (!this.token) await this.resolveToken();
    await this.loadConfig();
    this.transport = new Transport({
      url: this.config.ws_url,
      token: async (fresh) => {
        if (fresh && this.opts.tokenResolver) await this.resolveToken();
        return this.token;
      },
      WebSocket: this.opts.WebSocket ?? WebSocket,
      reconnect: this.opts.reconnect,
      log: (...args) => this.log(...args),
    });
    this.transport.on("frame", (frame) => this.onFrame(frame));
    this.transport.on("dropped", () => this.onDropped());
    this.transport.on("reconnecting", (event) => this.emit("reconnecting", event));
    this.transport.on("reregistered", (frame) => this.onRegistered(frame));
    this.transport.on("failed", () => this.onReconnectFailed());
    addEventListener("pagehide", this.onPageHide);
    addEventListener("pageshow", this.onPageShow);
    if (this.opts.autoRegister !== false) await this.register();
    else this.setStatus("unregistered");
  }

  private async loadConfig(): Promise<void> {
    try {
      this.config = await fetchSipConfig(this.apiBase, this.token);
    } catch (err) {
      const error = err as ZorioWebphoneError;
      if (!error.details?.unauthorized || !this.opts.tokenResolver) throw err;
      await this.resolveToken();
      this.config = await fetchSipConfig(this.apiBase, this.token);
    }
    this.extension = this.config.extension;
    this.user = this.config.user;
    this.scheduleRefresh(this.config.token_expires_at);
  }

  private async resolveToken(): Promise<void> {
    let resolved: { token: string; expiresAt?: string };
    try {
      resolved = unwrapToken(await this.opts.tokenResolver!());
    } catch (err) {
      throw new ZorioWebphoneError("bootstrap_failed", { stage: "tokenResolver", cause: String(err) });
    }
    if (!resolved.token) throw new ZorioWebphoneError("bootstrap_failed", { stage: "tokenResolver", cause: "empty token" });
    this.token = resolved.token;
    if (resolved.expiresAt) this.scheduleRefresh(resolved.expiresAt);
  }

  private scheduleRefresh(expiresAt: string | undefined): void {
    clearTimeout(this.refreshTimer);
    const expiry = expiresAt ? Date.parse(expiresAt) : NaN;
    if (!this.opts.tokenResolver || Number.isNaN(expiry)) return;
    const delay = Math.max(MIN_REFRESH_MS, expiry - Date.now() - TOKEN_REFRESH_MARGIN_MS);
    this.refreshTimer = setTimeout(() => {
      if (this.torn) return;
      this.resolveToken()
        .then(() => this.loadConfig())
        .catch((err: ZorioWebphoneError) => this.report(err));
    }, Math.min(delay, 2 ** 31 - 1));
  }

  async register(): Promise<void> {
    this.requireAlive();
    if (this.status === "registered") return;
    this.setStatus("connecting");
    let frame: ServerMessageOf<"registered">;
    try {
      frame = await this.transport.open();
    } catch (err) {
      const error = err as ZorioWebphoneError;
      if (!error.details?.unauthorized || !this.opts.tokenResolver) {
        this.setStatus("failed");
        throw err;
      }
      frame = await this.transport.open(true);
    }
    this.onRegistered(frame);
  }

  // -- registration and reconnection ------------------------------------------------------------

  private onRegistered(frame: ServerMessageOf<"registered">): void {
    this.extension = frame.extension;
    this.user = frame.user;
    this.setStatus("registered");
    this.emit("registered", { extension: this.extension, user: this.user });
    void this.reattach(frame.calls ?? []);
  }

  /** After a reconnect: keep the calls the server still has, swap dead peer connections, end the rest. */
  private async reattach(listed: readonly Record<string, unknown>[]): Promise<void> {
    const entries = listed.map(listedCall).filter((e): e is ListedCall => e !== null);
    const byId = new Map(entries.map((e) => [e.callId, e]));
    for (const call of [...this.callList]) {
      if (!call.live) continue;
      const entry = call.id ? byId.get(call.id) : undefined;
      if (!entry) {
        call.endLocally("failed");
        continue;
      }
      byId.delete(call.id!);
      if (entry.state === "answered" && call.state !== "answered") call.setState("answer");
      if (call.state === "answered" && call.pc && !call.healthy) {
        await call.replacePeer().catch((err) => this.log("re-attach failed", err));
      }
    }
    for (const entry of byId.values()) {
      if (entry.state !== "answered") continue;
      const call = new Call(this, entry.direction, entry.number, "answered");
      call.id = entry.callId;
      call.uuid = entry.uuid;
      call.answeredAt = new Date();
      this.add(call);
      await call.replacePeer().catch((err) => this.log("adopt failed", err));
    }
  }

  private onDropped(): void {
    this.log("connection lost");
    this.setStatus("connecting");
  }

  private onReconnectFailed(): void {
    for (const call of this.callList) call.endLocally("failed");
    this.setStatus("failed");
    this.report(new ZorioWebphoneError("reconnect_failed", {}));
    this.emit("unregistered", { reason: "reconnect_failed" });
  }

  private readonly onPageHide = (event: PageTransitionEvent) => {
    if (this.status !== "registered") return;
    this.unregister("pagehide");
    if (!event.persisted) this.teardown();
  };

  private readonly onPageShow = (event: PageTransitionEvent) => {
    if (event.persisted && !this.torn && this.status === "unregistered") void this.register().catch((err) => this.report(err));
  };

  private unregister(reason: UnregisteredEvent["reason"]): void {
    for (const call of this.callList) {
      if (call.live && call.id && this.transport.connected) {
        try {
          this.transport.send({ type: call.direction === "incoming" && call.state === "ringing" ? "call.reject" : "call.hangup", call_id: call.id });
        } catch { /* closing anyway */ }
      }
      call.endLocally("hangup");
    }
    this.transport?.close();
    const was = this.status;
    this.setStatus("unregistered");
    if (was !== "unregistered") this.emit("unregistered", { reason });
  }

  async disconnect(): Promise<void> {
    if (this.torn) return;
    await Promise.all(this.callList.filter((c) => c.live).map((c) => c.hangup().catch(() => undefined)));
    for (const call of [...this.callList]) void call.close();
    this.unregister("disconnect");
    this.teardown();
  }

  private teardown(): void {
    this.torn = true;
    clearTimeout(this.refreshTimer);
    removeEventListener("pagehide", this.onPageHide);
    removeEventListener("pageshow", this.onPageShow);
    this.audio.destroy();
    this.view?.destroy();
    this.view = null;
    this.callList = [];
  }

  // -- calls ----------------------------------------------------------------------------------

  get calls(): readonly Call[] {
    return this.callList.filter((c) => c.state !== "closed");
  }

  async call(number: string, options: CallOptions = {}): Promise<Call> {
    this.requireRegistered();
    const destination = strictNumber(number);
    if (!destination) throw new ZorioWebphoneError("invalid_target", { number });
    const call = new Call(this, "outgoing", destination, "originating");
    call.name = options.callerName ?? "";
    this.add(call);
    try {
      await call.startOutgoing(snakeOptions(options));
    } catch (err) {
      call.endLocally("failed");
      throw err;
    }
    return call;
  }

  consult(parent: Call, callId: string, uuid: string, target: string): Call {
    const call = new Call(this, "outgoing", target, "originating");
    call.id = callId;
    call.uuid = uuid || null;
    call.consultFor = parent;
    this.add(call);
    return call;
  }

  async holdOthers(call: Call): Promise<void> {
    for (const other of this.callList) {
      if (other !== call && other.state === "answered" && !other.onHold) await other.hold();
    }
  }

  private add(call: Call): void {
    this.callList.push(call);
    this.changed(call);
  }

  changed(call: Call): void {
    if (call.state === "closed") this.callList = this.callList.filter((c) => c !== call);
    const ringing = this.callList.some((c) => c.direction === "incoming" && c.state === "ringing");
    if (ringing) this.audio.startRinging();
    else this.audio.stopRinging();
    this.view?.update();
  }

  findCall(id: string): Call | undefined {
    return this.callList.find((c) => c.id === id);
  }

  private onFrame(frame: ServerMessage): void {
    if (this.debugEnabled) {
      this.frames.push(frame);
      if (this.frames.length > MAX_FRAMES_KEPT) this.frames.shift();
    }
    if (dispatchFrame(PHONE_HANDLERS, this, frame)) return;
    const callId = "call_id" in frame ? frame.call_id : undefined;
    const call = callId !== undefined ? this.findCall(callId) : undefined;
    if (call) call.handle(frame);
    else if (frame.type !== "call.trying") this.log(`dropped ${frame.type} for unknown call ${callId}`);
  }

  onIncoming(frame: ServerMessageOf<"call.incoming">): void {
    const call = new Call(this, "incoming", frame.from, "ringing");
    call.id = frame.call_id;
    call.uuid = frame.uuid;
    call.name = frame.from_name;
    call.remoteOffer = frame.sdp;
    this.add(call);
    this.emit("incoming_call", { call });
  }

  // -- devices, audio, appearance, diagnose ---------------------------------------------------

  inputDeviceId(): string | undefined {
    return this.audioInputDeviceId;
  }

  iceServers(): RTCIceServer[] {
    return this.config?.ice_servers ?? [];
  }

  async setAudioInputDevice(deviceId: string | undefined): Promise<void> {
    const id = deviceId || undefined;
    for (const call of this.callList) {
      if (!call.live || !call.pc) continue;
      let stream: MediaStream;
      try {
        stream = await this.media.getUserMedia(audioConstraints(id));
      } catch (err) {
        // the previous microphone stays selected (and keeps feeding the calls)
        throw isMissingDevice(err) ? audioDeviceError("audioinput", id, err) : err;
      }
      await call.replaceInput(stream);
    }
    this.audioInputDeviceId = id;
    this.view?.update();
  }

  async setAudioOutputDevice(deviceId: string | undefined): Promise<void> {
    const id = deviceId || undefined;
    try {
      await this.audio.setSink(id);
    } catch (err) {
      throw audioDeviceError("audiooutput", id, err);
    }
    this.audioOutputDeviceId = id;
    this.view?.update();
  }

  get audioBlocked(): boolean {
    return this.audio.blocked;
  }

  enableAudio(): Promise<void> {
    return this.audio.unlock();
  }

  setAppearance(options: AppearanceOptions): void {
    this.view?.setAppearance(options);
  }

  diagnose(): Promise<DiagnoseResult> {
    return runDiagnose({ apiBase: this.apiBase, token: this.token, WebSocket: this.opts.WebSocket, media: this.media });
  }

  get debug(): PhoneDebug | undefined {
    if (!this.debugEnabled) return undefined;
    const transport = this.transport;
    return {
      socket: transport?.socket ?? null,
      frames: this.frames,
      send: (frame) => transport.sendRaw(frame),
    };
  }

  override on<E extends PhoneEventName>(event: E, handler: (payload: PhoneEvents[E]) => void): this {
    super.on(event, handler);
    return this;
  }

  override off<E extends PhoneEventName>(event: E, handler: (payload: PhoneEvents[E]) => void): this {
    super.off(event, handler);
    return this;
  }

  // -- helpers --------------------------------------------------------------------------------

  report(error: ZorioWebphoneError): void {
    this.log("error", error.code, error.details);
    this.emit("error", error);
  }

  log(...args: unknown[]): void {
    if (this.debugEnabled) console.debug("[zorio]", ...args);
  }

  private setStatus(status: PhoneStatus): void {
    if (status === this.status) return;
    this.log(`phone: ${this.status} -> ${status}`);
    this.status = status;
    this.view?.update();
  }

  private requireAlive(): void {
    if (this.torn) throw new ZorioWebphoneError("not_bootstrapped", { status: this.status });
  }

  private requireRegistered(): void {
    if (this.torn || this.status !== "registered") throw new ZorioWebphoneError("not_bootstrapped", { status: this.status });
  }
}

/** Frames the phone handles itself; the rest go to the call named by `call_id`. */
const PHONE_HANDLERS: FrameHandlers<Phone> = {
  "call.incoming": (phone, frame) => phone.onIncoming(frame),
  registered: () => undefined,
  error: (phone, frame) => {
    const call = frame.call_id !== undefined ? phone.findCall(frame.call_id) : undefined;
    if (frame.req_id) return; // the request's promise rejects with it
    const error = fromServerError(frame);
    if (call) error.details.call = call;
    phone.report(error);
  },
};

function snakeOptions(options: CallOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    campaign_id: options.campaignId,
    lead_id: options.leadId,
    customer_id: options.customerId,
    recording: options.recording,
    caller_name: options.callerName,
    meta: options.meta,
  };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}
