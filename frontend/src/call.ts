/**
 * One call leg. The Call alone changes its state, through `setState`, which checks the generated
 * transition table and drops out-of-order signalling. Media (peer connection, mic, remote <audio>)
 * is owned here and released when the call leaves `answered`.
 */
import type { AudioManager } from "./audio";
import { Emitter } from "./emitter";
import { ZorioWebphoneError, microphoneError } from "./errors";
import {
  type FrameHandlers, type OutgoingFrame, type ServerMessage, type ServerMessageOf, type ServerType, dispatchFrame,
  expectReply,
} from "./frames";
import { CALL_TRANSITIONS, type CallEventName as StateInput } from "./generated/protocol";
import { audioConstraints, gathered, stopStream } from "./media";
import { normalizeDtmf, strictNumber } from "./numbers";
import type {
  CallApi, CallContext, CallDebug, CallDirection, CallEventName, CallEvents, CallState, EndReason, MediaLayer,
  PhoneEventName, PhoneEvents, RecordingState, RejectReason,
} from "./public-api";
import type { Transport } from "./transport";

/** The phone's and the call's events on entering a state (leaving a live state for `closed` also ends it). */
const STATE_EVENTS: Partial<Record<CallState, [PhoneEventName, CallEventName]>> = {
  ringing: ["call_ringing", "ringing"],
  answered: ["call_answered", "answered"],
  wrap_up: ["call_hangup", "ended"],
};
const RECORD_ACTIONS = { start: "recording", pause: "paused", resume: "recording", stop: "stopped" } as const;

const DTMF_CHUNK = 32;

/** What a Call needs from its Phone. */
export interface CallHost {
  readonly transport: Transport;
  readonly media: MediaLayer;
  readonly audio: AudioManager;
  readonly debugEnabled: boolean;
  readonly wrapUpSeconds: number;
  /** This phone's own number and name (the `from` of outgoing calls). */
  readonly extension: string;
  readonly ownName: string;
  iceServers(): RTCIceServer[];
  inputDeviceId(): string | undefined;
  emit<E extends PhoneEventName>(event: E, payload: PhoneEvents[E]): void;
  /** The call changed (state, flags, id): index it, refresh the UI and the ringtone. */
  changed(call: Call): void;
  /** Before answering: put the other live calls on hold (call waiting). */
  holdOthers(call: Call): Promise<void>;
  consult(parent: Call, callId: string, uuid: string, target: string): Call;
  /** The consult call of an attended transfer `call` started, if any. */
  consultOf(call: Call): Call | undefined;
  log(...args: unknown[]): void;
}

export class Call extends Emitter<CallEvents> implements CallApi {
  id: string | null = null;
  uuid: string | null = null;
  name = "";
  from: string;
  fromName: string;
  to: string;
  context: CallContext = {};
  recording: RecordingState | null = null;
  /** `X-` headers the caller added (a scenario, a trunk). */
  headers: Record<string, unknown> = {};
  /** Texts from the server side of the call (a scenario's `send_message`), oldest first. */
  readonly messages: string[] = [];
  readonly startedAt = new Date();
  answeredAt: Date | null = null;
  endedAt: Date | null = null;
  endReason: EndReason | string | null = null;
  muted = false;
  onHold = false;
  remoteHold = false;
  /** Since when the call is held (by either side), for the hold timer. */
  heldSince: Date | null = null;
  consultFor: Call | null = null;
  remoteOffer: string | null = null;
  readonly transitions: string[] = [];

  pc: RTCPeerConnection | null = null;
  localStream: MediaStream | null = null;
  remoteStream: MediaStream | null = null;
  audioEl: HTMLAudioElement | null = null;
  private sdpSent = false;
  private hangupRequested = false;
  private answering = false;
  private readonly localCandidates: OutgoingFrame[] = [];
  private readonly remoteCandidates: RTCIceCandidateInit[] = [];
  private wrapTimer: ReturnType<typeof setTimeout> | undefined;
  private tryingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly host: CallHost,
    readonly direction: CallDirection,
    public number: string,
    public state: CallState,
  ) {
    super();
    const outgoing = direction === "outgoing";
    this.from = outgoing ? host.extension : number;
    this.fromName = outgoing ? host.ownName : "";
    this.to = outgoing ? number : host.extension;
  }

  override on<E extends CallEventName>(event: E, handler: (payload: CallEvents[E]) => void): this {
    super.on(event, handler);
    return this;
  }

  override off<E extends CallEventName>(event: E, handler?: (payload: CallEvents[E]) => void): this {
    super.off(event, handler);
    return this;
  }

  get peerConnection(): RTCPeerConnection | null {
    return this.pc;
  }

  get isMuted(): boolean {
    return this.muted;
  }

  get debug(): CallDebug | undefined {
    if (!this.host.debugEnabled) return undefined;
    const media: Call = this.pc || !this.consultFor ? this : this.consultFor;
    return {
      peerConnection: media.pc,
      localStream: media.localStream,
      remoteStream: media.remoteStream,
      audio: media.audioEl,
      transitions: this.transitions,
    };
  }

  get live(): boolean {
    return this.state !== "wrap_up" && this.state !== "closed";
  }

  /** The one place the state changes; returns false when the table has no such transition. */
  setState(event: StateInput, reason?: string): boolean {
    const old = this.state;
    const next = CALL_TRANSITIONS[`${old}:${event}`];
    if (!next) {
      this.host.log(`call ${this.id}: dropped '${event}' in ${old}`);
      return false;
    }
    this.state = next;
    this.transitions.push(`${old} -> ${next}`);
    this.host.log(`call ${this.id}: ${old} -> ${next}`, reason ?? "");
    if (next === "answered") this.answeredAt ??= new Date();
    if (next === "wrap_up" || next === "closed") {
      this.endedAt ??= new Date();
      this.endReason ??= reason ?? "hangup";
      this.releaseMedia();
    }
    if (next === "wrap_up" && this.host.wrapUpSeconds > 0) {
      this.wrapTimer = setTimeout(() => void this.close(), this.host.wrapUpSeconds * 1000);
    }
    this.fireTrying(); // before any later event
    this.notify();
    const events = STATE_EVENTS[next] ?? (next === "closed" && old !== "wrap_up" ? STATE_EVENTS.wrap_up : undefined);
    if (events) this.fire(events[0], events[1], events[1] === "ended" ? { reason: this.endReason ?? "hangup" } : {});
    return true;
  }

  private fireTrying(): void {
    if (this.tryingTimer === undefined) return;
    clearTimeout(this.tryingTimer);
    this.tryingTimer = undefined;
    this.fire(null, "trying");
  }

  /** The same event on the phone (`phone.on`) and on the call (`call.on`). */
  fire(phoneEvent: PhoneEventName | null, callEvent: CallEventName, extra: Record<string, unknown> = {}): void {
    const payload = { call: this, ...extra };
    if (phoneEvent) this.host.emit(phoneEvent, payload as never);
    this.emit(callEvent, payload as never);
  }

  notify(): void {
    this.host.changed(this);
  }

  /**
   * The far party changed (`call.party`, after a transfer): the other side's number and name, and
   * the call record this leg is in now. An incoming call's caller is the new party, an outgoing
   * call's called number is.
   */
  setParty(number: string, name: string, uuid: string): void {
    this.host.log(`call ${this.id}: now with ${number} (${uuid})`);
    this.number = number;
    this.name = name;
    this.uuid = uuid || this.uuid;
    if (this.direction === "incoming") [this.from, this.fromName] = [number, name];
    else this.to = number;
    this.notify();
    this.fire(null, "party", { number, name });
  }

  /** A frame about this leg (dispatched by call_id). */
  handle(frame: ServerMessage): void {
    if (!dispatchFrame(FRAME_HANDLERS, this, frame)) this.host.log(`call ${this.id}: ignored ${frame.type}`);
  }

  // -- outgoing --------------------------------------------------------------------------------

  async startOutgoing(options: Record<string, unknown>): Promise<void> {
    const pc = await this.preparePeer();
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    this.sdpSent = true;
    if (this.hangupRequested) {
      this.endLocally("cancelled");
      return;
    }
    const frame: OutgoingFrame = { type: "call.create", destination: this.number, sdp: pc.localDescription!.sdp };
    if (Object.keys(options).length) frame.options = options;
    const trying = expectReply(await this.host.transport.request(frame), "call.trying");
    this.id = trying.call_id;
    this.uuid = trying.uuid || null;
    this.notify();
    // On the next task, so that handlers attached when phone.call() resolves hear it too.
    this.tryingTimer = setTimeout(() => this.fireTrying(), 0);
    this.flushLocalCandidates();
    if (this.hangupRequested) void this.hangup();
  }

  // -- public methods ---------------------------------------------------------------------------

  async answer(): Promise<void> {
    if (this.direction !== "incoming" || this.state !== "ringing" || this.answering) {
      throw new ZorioWebphoneError("not_incoming", { call_id: this.id, state: this.state, direction: this.direction });
    }
    this.answering = true;
    try {
      let pc = this.pc;
      if (!pc) {
        try {
          pc = await this.preparePeer();
        } catch (err) {
          // Without a microphone this device cannot take the call: refuse it (486) so that the
          // caller is not left ringing, and say why.
          if (this.state === "ringing") await this.request({ type: "call.reject", code: 486 }, "call.ended").catch(() => undefined);
          this.endLocally("failed");
          throw err;
        }
      }
      await this.host.holdOthers(this);
      await pc.setRemoteDescription({ type: "offer", sdp: this.remoteOffer ?? "" });
      await this.flushRemoteCandidates();
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      this.sdpSent = true;
      if (this.state !== "ringing") return; // cancelled meanwhile
      this.flushLocalCandidates();
      await this.request({ type: "call.answer", sdp: pc.localDescription!.sdp }, "call.answered");
    } finally {
      this.answering = false;
    }
  }

  async hangup(): Promise<void> {
    if (this.state === "closed") return;
    if (this.state === "wrap_up") return this.close();
    if (!this.id) {
      this.hangupRequested = true;
      if (this.sdpSent) return; // call.create is in flight; hang up once call.trying names the call
      this.endLocally("cancelled");
      return;
    }
    if (this.direction === "incoming" && this.state === "ringing") return this.reject();
    try {
      await this.request({ type: "call.hangup" }, "call.ended");
    } catch (err) {
      this.host.log(`call ${this.id}: hangup refused, ending locally`, err);
    }
    this.endLocally("hangup");
  }

  async reject(reason?: RejectReason): Promise<void> {
    if (this.direction !== "incoming" || this.state !== "ringing") {
      throw new ZorioWebphoneError("not_incoming", { call_id: this.id, state: this.state, direction: this.direction });
    }
    const busy = reason === "busy" || reason === 486;
    try {
      await this.request({ type: "call.reject", code: busy ? 486 : 603 }, "call.ended");
    } finally {
      this.endLocally(busy ? "busy" : "rejected");
    }
  }

  async mute(): Promise<void> {
    this.requireLive();
    this.setTrackEnabled(false);
    await this.request({ type: "call.mute" }, "call.muted");
  }

  async unmute(): Promise<void> {
    this.requireLive();
    this.setTrackEnabled(true);
    await this.request({ type: "call.unmute" }, "call.unmuted");
  }

  async hold(): Promise<void> {
    this.requireLive("answered");
    await this.request({ type: "call.hold" }, "call.held");
  }

  async unhold(): Promise<void> {
    this.requireLive("answered");
    await this.request({ type: "call.unhold" }, "call.resumed");
  }

  resume(): Promise<void> {
    return this.unhold();
  }

  async sendDtmf(digits: string): Promise<void> {
    const clean = normalizeDtmf(digits);
    if (!clean) throw new ZorioWebphoneError("invalid_dtmf", { digits });
    this.requireLive("answered");
    for (let i = 0; i < clean.length; i += DTMF_CHUNK) {
      await this.request({ type: "call.dtmf", digits: clean.slice(i, i + DTMF_CHUNK) }, "call.dtmf_received");
    }
  }

  async transfer(target: string): Promise<void> {
    const number = strictNumber(target);
    if (!number) throw new ZorioWebphoneError("invalid_target", { target });
    this.requireLive("answered");
    await this.request({ type: "call.transfer", target: number }, "call.ended");
  }

  async attendedTransfer(target: string): Promise<Call> {
    const number = strictNumber(target);
    if (!number) throw new ZorioWebphoneError("invalid_target", { target });
    this.requireLive("answered");
    const trying = expectReply(await this.request({ type: "call.attended_transfer", target: number }), "call.trying");
    return this.host.consult(this, trying.call_id, trying.uuid, number);
  }

  async completeTransfer(): Promise<void> {
    const original = this.consultFor ?? this;
    original.requireLive("answered");
    await original.request({ type: "call.complete_transfer" }, "call.ended");
  }

  /** Ends the consult call (this one, or the one this call started); the server resumes the held call. */
  async cancelTransfer(): Promise<void> {
    const consult = this.consultFor ? this : this.host.consultOf(this);
    if (!consult?.live) throw new ZorioWebphoneError("invalid_state", { call_id: this.id, state: this.state, cause: "no consult call" });
    await consult.hangup();
  }

  startRecording(): Promise<void> {
    return this.record("start");
  }

  pauseRecording(): Promise<void> {
    return this.record("pause");
  }

  resumeRecording(): Promise<void> {
    return this.record("resume");
  }

  stopRecording(): Promise<void> {
    return this.record("stop");
  }

  /**
   * `call.record {action}` (DESIGN §4): the state changes when the server confirms it with
   * `call.recording` (to both parties); a server that does not know the request answers
   * `unknown_type`, reported as `not_implemented`.
   */
  private async record(action: keyof typeof RECORD_ACTIONS): Promise<void> {
    this.requireLive("answered");
    let reply: ServerMessage;
    try {
      reply = await this.request({ type: "call.record", action });
    } catch (err) {
      const e = err as ZorioWebphoneError;
      if (e.code === "unknown_type") throw new ZorioWebphoneError("not_implemented", { ...e.details, feature: "recording" });
      throw err;
    }
    this.setRecording(reply.type === "call.recording" ? reply.state : RECORD_ACTIONS[action]);
  }

  setRecording(state: RecordingState | string): void {
    if (state !== "recording" && state !== "paused" && state !== "stopped") return;
    if (this.recording === state) return;
    this.recording = state;
    this.notify();
    this.fire(null, "recording", { state });
  }

  async close(): Promise<void> {
    clearTimeout(this.wrapTimer);
    if (this.state === "wrap_up") this.setState("close");
  }

  // -- media ------------------------------------------------------------------------------------

  /** Replaces the peer connection (after a reconnect or a network change): `sdp.offer replace`. */
  async replacePeer(): Promise<void> {
    const old = this.pc;
    const oldAudio = this.audioEl;
    this.pc = null;
    const pc = await this.preparePeer(this.localStream);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    old?.close();
    this.host.audio.detach(oldAudio === this.audioEl ? null : oldAudio);
    await this.request({ type: "sdp.offer", sdp: pc.localDescription!.sdp, replace: true }, "sdp.answer");
  }

  /** Swaps the microphone on a live call. */
  async replaceInput(stream: MediaStream): Promise<void> {
    const track = stream.getAudioTracks()[0];
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === "audio");
    if (!track || !sender) {
      stopStream(stream);
      return;
    }
    track.enabled = !this.muted;
    await sender.replaceTrack(track);
    stopStream(this.localStream);
    this.localStream = stream;
  }

  get healthy(): boolean {
    const state = this.pc?.iceConnectionState;
    return state === "connected" || state === "completed";
  }

  private async preparePeer(stream: MediaStream | null = null): Promise<RTCPeerConnection> {
    if (!stream) {
      try {
        stream = await this.host.media.getUserMedia(audioConstraints(this.host.inputDeviceId()));
      } catch (err) {
        throw microphoneError(this.host.inputDeviceId(), err);
      }
    }
    this.localStream = stream;
    const pc = this.host.media.createPeerConnection({ iceServers: this.host.iceServers() });
    this.pc = pc;
    stream.getAudioTracks().forEach((track) => {
      track.enabled = !this.muted;
      pc.addTrack(track, stream!);
    });
    pc.addEventListener("track", (event: RTCTrackEvent) => {
      if (this.pc !== pc) return;
      const remote = event.streams[0] ?? new MediaStream([event.track]);
      if (remote === this.remoteStream) return;
      this.host.audio.detach(this.audioEl);
      this.remoteStream = remote;
      this.audioEl = this.host.audio.attachRemote(remote);
      this.notify();
    });
    pc.addEventListener("icecandidate", (event: RTCPeerConnectionIceEvent) => {
      if (this.pc !== pc || !this.sdpSent) return;
      const c = event.candidate;
      if (c && !c.candidate) return;
      this.localCandidates.push(
        c
          ? { type: "ice.candidate", candidate: c.candidate, sdp_mid: c.sdpMid, sdp_m_line_index: c.sdpMLineIndex }
          : { type: "ice.done" },
      );
      this.flushLocalCandidates();
    });
    pc.addEventListener("iceconnectionstatechange", () => this.host.log(`call ${this.id}: ice ${pc.iceConnectionState}`));
    return pc;
  }

  private flushLocalCandidates(): void {
    if (!this.id || !this.host.transport.connected) return;
    for (const frame of this.localCandidates.splice(0)) {
      try {
        this.host.transport.send({ ...frame, call_id: this.id });
      } catch {
        return;
      }
    }
  }

  async flushRemoteCandidates(): Promise<void> {
    if (!this.pc?.remoteDescription) return;
    for (const candidate of this.remoteCandidates.splice(0)) {
      await this.pc.addIceCandidate(candidate).catch((err) => this.host.log("bad remote candidate", err));
    }
  }

  addRemoteCandidate(frame: ServerMessageOf<"ice.candidate">): void {
    this.remoteCandidates.push({
      candidate: frame.candidate,
      sdpMid: frame.sdp_mid ?? null,
      sdpMLineIndex: frame.sdp_m_line_index ?? null,
    });
    void this.flushRemoteCandidates();
  }

  async applyAnswer(sdp: string): Promise<void> {
    const pc = this.pc;
    if (!pc || pc.signalingState !== "have-local-offer") return;
    await pc.setRemoteDescription({ type: "answer", sdp });
    await this.flushRemoteCandidates();
  }

  /** A server offer (renegotiation, or the media of a consult call). */
  async applyOffer(sdp: string): Promise<void> {
    const pc = this.pc ?? (await this.preparePeer());
    await pc.setRemoteDescription({ type: "offer", sdp });
    await this.flushRemoteCandidates();
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    this.sdpSent = true;
    this.host.transport.send({ type: "sdp.answer", call_id: this.id, sdp: pc.localDescription!.sdp });
  }

  /** Ends the call on this side without the server (refused hangup, lost connection). */
  endLocally(reason: string): void {
    if (!this.live) return;
    if (!this.setState("end", reason)) this.state = "closed";
  }

  private releaseMedia(): void {
    this.pc?.close();
    this.pc = null;
    stopStream(this.localStream);
    this.localStream = null;
    this.host.audio.detach(this.audioEl);
    this.audioEl = null;
  }

  private setTrackEnabled(enabled: boolean): void {
    this.localStream?.getAudioTracks().forEach((track) => (track.enabled = enabled));
  }

  private requireLive(state?: CallState): void {
    if (!this.id || !this.live || (state && this.state !== state)) {
      throw new ZorioWebphoneError("invalid_state", { call_id: this.id, state: this.state });
    }
  }

  /** A request about this leg; resolves on its reply or on the first `until` frame for this leg. */
  private request(frame: OutgoingFrame, until?: ServerType): Promise<ServerMessage> {
    const callId = this.id;
    return this.host.transport.request(
      { ...frame, call_id: callId },
      until ? (reply) => reply.type === until && "call_id" in reply && reply.call_id === callId : undefined,
    );
  }
}

/** Server frames about a leg, by type (an explicit map, never a lookup on the frame's text). */
const FRAME_HANDLERS: FrameHandlers<Call> = {
  "sdp.answer": (call, f) => void call.applyAnswer(f.sdp).catch((err) => console.warn("[zorio] answer", err)),
  "sdp.offer": (call, f) => void call.applyOffer(f.sdp).catch((err) => console.warn("[zorio] offer", err)),
  "ice.candidate": (call, f) => call.addRemoteCandidate(f),
  "call.ringing": (call) => call.setState(call.state === "answered" ? "transfer" : "ring"),
  "call.answered": (call) => call.setState("answer"),
  "call.ended": (call, f) => call.setState("end", f.reason || "hangup"),
  "call.held": (call, f) => setHold(call, f, true),
  "call.resumed": (call, f) => setHold(call, f, false),
  "call.muted": (call) => setMuted(call, true),
  "call.unmuted": (call) => setMuted(call, false),
  "call.dtmf_received": (call, f) => call.fire(null, "dtmf", { digit: f.digit }),
  "call.recording": (call, f) => call.setRecording(f.state),
  "call.party": (call, f) => call.setParty(f.number, f.name, f.uuid),
  "call.message": (call, f) => {
    call.messages.push(f.text);
    call.notify();
    call.fire(null, "message", { text: f.text });
  },
};

function setHold(call: Call, frame: ServerMessageOf<"call.held" | "call.resumed">, held: boolean): void {
  const by = frame.by === "remote" ? "remote" : "local";
  if (by === "local") call.onHold = held;
  else call.remoteHold = held;
  call.heldSince = call.onHold || call.remoteHold ? (call.heldSince ?? new Date()) : null;
  call.notify();
  call.fire(held ? "call_held" : "call_resumed", held ? "held" : "resumed", { by });
}

function setMuted(call: Call, muted: boolean): void {
  call.muted = muted;
  call.notify();
  call.fire(muted ? "muted" : "unmuted", muted ? "muted" : "unmuted");
}
