/**
 * The Phone: bootstrap (sip-config -> WebSocket -> registered), the live calls, token refresh,
 * reconnection with re-attachment of live calls, pagehide and teardown.
 */
import { AudioManager, canChooseSpeaker } from "./audio";
import { Call, type CallHost } from "./call";
import { fetchSipConfig, getJson, type SipConfig } from "./config";
import { diagnose } from "./chunks";
import { Emitter } from "./emitter";
import { ZorioWebphoneError, audioDeviceError, fromServerError, microphoneError } from "./errors";
import { type FrameHandlers, type ServerMessage, type ServerMessageOf, dispatchFrame, expectReply, isRecord } from "./frames";
import { audioConstraints, browserMedia } from "./media";
import { strictNumber } from "./numbers";
import type {
  ActiveCall, AgentQueueState, AgentStateEvent, AppearanceOptions, CallDirection, CallOptions, CallRecordEntry, ConnectOptions, DiagnoseResult, DirectoryEntry,
  MediaLayer, PhoneApi, PhoneDebug, PhoneEventName, PhoneEvents, PhoneStatus, UnregisteredEvent,
} from "./public-api";
import { Parties } from "./parties";
import { TokenKeeper } from "./tokens";
import { Transport } from "./transport";

const MAX_FRAMES_KEPT = 500;
/** Events after which the call records may name a party or a context the call does not have yet. */
/** A renewed token moves the socket once no call is being set up, or this long before the old one expires. */
const MOVE_DEADLINE_MS = 1500;
const QUIET_POLL_MS = 250;
const DEFAULT_WRAP_UP_S = 10;

/** Where the UI attaches (set by ui/element.ts, so headless builds of the phone need no DOM code). */
export interface PhoneView {
  update(): void;
  setAppearance(options: AppearanceOptions): void;
  destroy(): void;
}

/** One entry of `registered.calls` (a live call the server kept through the drop). */
interface ListedCall {
  callId: string;
  uuid: string | null;
  state: string;
  direction: CallDirection;
  number: string;
  name: string;
  held: boolean;
  remoteHeld: boolean;
  muted: boolean;
}

/** `agent.state.queues`: the queues' numbers (the generated type says objects: the table does not type list items). */
function queueNumbers(queues: readonly unknown[]): string[] {
  return queues.filter((q): q is string => typeof q === "string");
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
    name: typeof entry.name === "string" ? entry.name : "",
    held: entry.held === true,
    remoteHeld: entry.remote_held === true,
    muted: entry.muted === true,
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
  readonly tokens: TokenKeeper;
  readonly parties: Parties;
  private callList: Call[] = [];
  private readonly frames: ServerMessage[] = [];
  private torn = false;
  /** More contacts for the UI's directory search, e.g. the softphone host's (`onWazoContactSearch`). */
  readonly contactSources: ((query: string) => Promise<{ number: string; name: string; presence?: string }[]>)[] = [];
  /** Errors reported before the UI was mounted. */
  readonly earlyErrors: ZorioWebphoneError[] = [];
  /** Expiry of the token the open socket authenticated with (the server closes it then). */
  private socketExpiry = NaN;

  constructor(readonly opts: ConnectOptions, readonly apiBase: string, ringtoneUrl: string) {
    super();
    this.tokens = new TokenKeeper(opts, apiBase);
    this.parties = new Parties(this);
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
    if (sink && !canChooseSpeaker()) {
      this.audioOutputDeviceId = undefined;
      queueMicrotask(() => this.warnNoSpeakerChoice(sink));
    } else if (sink) {
      // A stale id (headset unplugged) must not break connect(): report it and use the default device.
      this.audio.setSink(sink).catch((err: unknown) => {
        if (this.audioOutputDeviceId === sink) this.audioOutputDeviceId = undefined;
        this.report(audioDeviceError("audiooutput", sink, err));
        this.view?.update();
      });
    }
  }

  // -- bootstrap ------------------------------------------------------------------------------

  get token(): string {
    return this.tokens.token;
  }

  get ownName(): string {
    return String(this.config?.display_name || this.user.display_name || "");
  }

  async bootstrap(): Promise<void> {
    if (!this.token) await this.tokens.renew();
    await this.loadConfig();
    await this.checkMicrophone();
    this.transport = new Transport({
      url: this.config.ws_url,
      token: async (fresh) => {
        if (fresh && this.tokens.canRenew) await this.tokens.renew();
        this.socketExpiry = this.tokens.expiresAt;
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
      if (!error.details?.unauthorized || !this.tokens.canRenew) throw err;
      await this.tokens.renew();
      this.config = await fetchSipConfig(this.apiBase, this.token);
    }
    this.extension = this.config.extension;
    this.user = this.config.user;
    this.tokens.schedule(this.config.token_expires_at, this.renewToken);
  }

  /** A microphone the browser blocks is said at connect (calls could not be taken), not when the first call fails. */
  private async checkMicrophone(): Promise<void> {
    try {
      const state = (await navigator.permissions.query({ name: "microphone" as PermissionName })).state;
      if (state === "denied") this.report(microphoneError(undefined, { name: "NotAllowedError", message: "permission denied" }));
    } catch { /* a browser that cannot tell: the first call says it */ }
  }

  /** The token is due: renew it, then move the socket to it (the server closes a socket when its token expires). */
  private readonly renewToken = (): void => {
    if (this.torn) return;
    this.tokens.renew()
      .then(async (known) => {
        if (!known) await this.loadConfig(); // sip-config says when the new token expires
        else this.tokens.schedule(undefined, this.renewToken);
        // A failed move is a drop: the reconnection (with the new token) takes over.
        await this.moveSocket().catch((err) => this.log("socket move failed", err));
      })
      .catch((err: ZorioWebphoneError) => {
        this.report(err);
        this.tokens.retryLater(this.renewToken);
      });
  };

  /** Nothing is being set up: a socket move now loses no ringing call or pending request. */
  private get quiet(): boolean {
    return !this.transport.busy && this.callList.every((c) => c.state === "answered" || !c.live);
  }

  private async moveSocket(): Promise<void> {
    const deadline = this.socketExpiry - MOVE_DEADLINE_MS;
    while (!this.torn && this.status === "registered" && !this.quiet && !(Date.now() >= deadline)) {
      await new Promise((resolve) => setTimeout(resolve, QUIET_POLL_MS));
    }
    if (this.torn || this.status !== "registered") return; // a reconnect will use the new token
    // The server re-attaches our calls once it has seen the old socket go; if this socket was
    // faster, move again.
    for (let attempt = 1; ; attempt++) {
      const frame = await this.transport.reopen();
      this.socketExpiry = this.tokens.expiresAt;
      const listed = new Set((frame.calls ?? []).map((c) => c.call_id));
      const missing = this.callList.some((c) => c.state === "answered" && c.id && !listed.has(c.id));
      if (!missing || attempt === 3) {
        this.onRegistered(frame, true);
        return;
      }
    }
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

  private onRegistered(frame: ServerMessageOf<"registered">, moved = false): void {
    this.extension = frame.extension;
    this.user = frame.user;
    this.setStatus("registered");
    if (!moved) this.emit("registered", { extension: this.extension, user: this.user });
    void this.reattach(frame.calls ?? []);
  }

  /** After a reconnect: keep the calls the server still has, swap dead peer connections, end the rest. */
  private async reattach(listed: readonly Record<string, unknown>[]): Promise<void> {
    const entries = listed.filter(isRecord).map(listedCall).filter((e): e is ListedCall => e !== null);
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
      if (entry.name && entry.name !== call.name) {
        call.name = entry.name;
        call.notify();
      }
      if (call.state === "answered" && call.pc && !call.healthy) {
        await call.replacePeer().catch((err) => this.log("re-attach failed", err));
      }
    }
    for (const entry of byId.values()) {
      if (entry.state !== "answered") continue;
      const call = new Call(this, entry.direction, entry.number, "answered");
      call.id = entry.callId;
      call.uuid = entry.uuid;
      call.name = entry.name;
      call.onHold = entry.held;
      call.remoteHold = entry.remoteHeld;
      call.muted = entry.muted;
      call.answeredAt = new Date();
      this.add(call);
      await call.replacePeer().catch((err) => this.log("adopt failed", err));
    }
  }

  private onDropped(): void {
    this.log("connection lost");
    const was = this.status;
    this.setStatus("connecting");
    if (was === "registered") this.emit("unregistered", { reason: "connection_lost" });
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
    this.tokens.cancel();
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

  get activeCalls(): readonly ActiveCall[] {
    return this.callList.filter((c) => c.live).map((c) => ({
      id: c.id, from: c.from, to: c.to, direction: c.direction,
      state: c.state !== "answered" ? "ringing" : c.onHold || c.remoteHold ? "held" : "active",
    }));
  }

  getCall(id: string): Call | undefined {
    return this.calls.find((c) => c.id === id || c.uuid === id);
  }

  /** Logs the agent in to or out of its queues, pauses it or makes it ready (`agent.state`). */
  async setAgentState(state: AgentQueueState, queue?: string): Promise<AgentStateEvent> {
    this.requireRegistered();
    const frame = { type: "agent.state" as const, state, ...(queue ? { queue } : {}) };
    const reply = expectReply(await this.transport.request(frame), "agent.state");
    return { state: reply.state, queues: queueNumbers(reply.queues) };
  }

  async directory(query = ""): Promise<DirectoryEntry[]> {
    const body = await getJson(this.apiBase, `/api/webphone/directory?q=${encodeURIComponent(query)}`, this.token, "directory");
    return (body.results ?? []) as DirectoryEntry[];
  }

  async callHistory({ page = 1, pageSize = 20 } = {}): Promise<{ count: number; results: CallRecordEntry[] }> {
    const body = await getJson(this.apiBase, `/api/webphone/calls?page=${page}&page_size=${pageSize}`, this.token, "history");
    return { count: Number(body.count ?? 0), results: (body.results ?? []) as CallRecordEntry[] };
  }

  async call(number: string, options: CallOptions = {}): Promise<Call> {
    this.requireRegistered();
    const destination = strictNumber(number);
    if (!destination) throw new ZorioWebphoneError("invalid_target", { number });
    const call = new Call(this, "outgoing", destination, "originating");
    call.context = contextOf(options);
    this.add(call);
    try {
      await call.startOutgoing(snakeOptions(options));
    } catch (err) {
      call.endLocally("failed");
      throw err;
    }
    void this.parties.read(call); // the record names the called party
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

  consultOf(call: Call): Call | undefined {
    return this.callList.find((c) => c.consultFor === call && c.live);
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
    call.to = frame.to || this.extension;
    call.fromName = frame.from_name;
    call.headers = frame.headers;
    this.add(call);
    this.emit("incoming_call", { call });
    this.emit("incoming", call);
    void this.parties.read(call); // the campaign context the caller placed it with
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
        throw microphoneError(id, err);
      }
      await call.replaceInput(stream);
    }
    this.audioInputDeviceId = id;
    this.view?.update();
  }

  async setAudioOutputDevice(deviceId: string | undefined): Promise<void> {
    const id = deviceId || undefined;
    if (id && !canChooseSpeaker()) throw this.warnNoSpeakerChoice(id);
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
    return diagnose({ apiBase: this.apiBase, token: this.token, WebSocket: this.opts.WebSocket, media: this.media });
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

  override off<E extends PhoneEventName>(event: E, handler?: (payload: PhoneEvents[E]) => void): this {
    super.off(event, handler);
    return this;
  }

  // -- helpers --------------------------------------------------------------------------------

  /** No setSinkId (Firefox without the flag, Safari): the default speaker plays; the `warning` event says so. */
  private warnNoSpeakerChoice(deviceId: string): ZorioWebphoneError {
    const warning = new ZorioWebphoneError("audio_output_unsupported", { deviceId });
    this.log("warning", warning.code);
    this.emit("warning", warning);
    return warning;
  }

  report(error: ZorioWebphoneError): void {
    this.log("error", error.code, error.details);
    if (!this.view) this.earlyErrors.push(error); // the UI, once mounted, shows what happened during connect()
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
  // Our own request's reply (req_id) resolves setAgentState; the event is a change made elsewhere.
  "agent.state": (phone, frame) => {
    if (!frame.req_id) phone.emit("agent_state", { state: frame.state, queues: queueNumbers(frame.queues) });
  },
  registered: () => undefined,
  error: (phone, frame) => {
    const call = frame.call_id !== undefined ? phone.findCall(frame.call_id) : undefined;
    if (frame.req_id) return; // the request's promise rejects with it
    const error = fromServerError(frame);
    if (call) error.details.call = call;
    phone.report(error);
  },
};

const idText = (id: unknown): string | undefined => (typeof id === "number" || (typeof id === "string" && id) ? String(id) : undefined);

/** `call.create` options; the partner's ids may be numbers (`campaignId: 36`) and travel as strings. */
function snakeOptions(options: CallOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    campaign_id: idText(options.campaignId),
    lead_id: idText(options.leadId),
    customer_id: idText(options.customerId),
    recording: options.recording,
    caller_name: options.callerName,
    caller_id: options.callerId,
    meta: options.meta,
  };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

function contextOf(options: CallOptions): Call["context"] {
  const context: Call["context"] = {
    campaignId: idText(options.campaignId), leadId: idText(options.leadId), customerId: idText(options.customerId),
    callerName: options.callerName || undefined,
  };
  for (const key of Object.keys(context) as (keyof Call["context"])[]) if (context[key] === undefined) delete context[key];
  return context;
}
