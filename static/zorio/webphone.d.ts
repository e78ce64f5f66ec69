// Types of /static/zorio/webphone.js (Zorio Webphone 0.1.0). Generated from frontend/src/public-api.ts.
/** States of a call (the server's CallState table). */
export type CallState = "originating" | "ringing" | "answered" | "wrap_up" | "closed";
/** Why a call ended (`call.ended.reason`). */
export type EndReason = "hangup" | "busy" | "no-answer" | "failed" | "transferred" | "rejected" | "cancelled" | "answered-elsewhere";
/** Codes of ZorioWebphoneError (the SDK table); a server refusal not in this list keeps its protocol code. */
export type SdkErrorCode = "bootstrap_failed" | "webphone_disabled" | "incomplete_sip_config" | "invalid_target" | "not_incoming" | "invalid_dtmf" | "audio_autoplay_blocked" | "audio_device_not_found" | "microphone_denied" | "audio_output_unsupported" | "reconnect_failed" | "not_implemented" | "not_bootstrapped";
/** Protocol error codes that may reach `ZorioWebphoneError.code` when the server refuses a request. */
export type ProtocolErrorCode = "invalid_json" | "bad_request" | "unknown_type" | "unauthorized" | "forbidden" | "unknown_call" | "invalid_target" | "invalid_dtmf" | "not_incoming" | "invalid_state" | "busy" | "capacity" | "draining" | "rate_limited" | "bad_sdp" | "server_error";

export type Layout = "docked" | "overlay" | "fullscreen";
export type ThemeMode = "light" | "dark" | "auto";
export type Locale = "vi" | "en";
export type PhoneStatus = "connecting" | "registered" | "unregistered" | "failed";
export type CallDirection = "incoming" | "outgoing";
export type ErrorCode = SdkErrorCode | ProtocolErrorCode;

export interface ZorioWebphoneError extends Error {
  readonly name: "ZorioWebphoneError";
  readonly code: ErrorCode;
  /** Context: HTTP status, server code/message, the call id, the underlying cause… */
  readonly details: Record<string, unknown>;
  /** What to do about it (from the error table). */
  readonly whatToDo: string;
}

/** Result of a token resolver: a token, or a token with its expiry (ISO-8601). */
export type ResolvedToken = string | { token: string; expiresAt?: string };

/** Minimal WebSocket constructor (inject a fake in tests). */
export type WebSocketFactory = new (url: string) => WebSocket;

/** The media layer the SDK uses; the default is the browser's. Inject fakes in tests. */
export interface MediaLayer {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  createPeerConnection(config: RTCConfiguration): RTCPeerConnection;
  enumerateDevices(): Promise<MediaDeviceInfo[]>;
}

export interface ReconnectOptions {
  /** Attempts before `reconnect_failed` (default 8). */
  maxAttempts?: number;
  /** First delay, doubled each attempt, with ±30 % jitter (default 500). */
  baseDelayMs?: number;
  /** Ceiling of one delay (default 15000). */
  maxDelayMs?: number;
}

export interface ConnectOptions {
  /** Origin of the Zorio server (default: the origin that served webphone.js). */
  apiBase?: string;
  /** A webphone token minted by the partner back-end (`POST /api/webphone/tokens`). */
  token?: string;
  /** Where to mount the `<zorio-phone>` UI (element or CSS selector); headless when absent. */
  mount?: Element | string;
  layout?: Layout;
  theme?: ThemeMode;
  locale?: Locale;
  /** Open the WebSocket and register during connect() (default true); else call `phone.register()`. */
  autoRegister?: boolean;
  /** Ringtone for incoming calls (default: the shipped `/static/sounds/ringtone.wav`). */
  ringtoneUrl?: string;
  /**
   * Speaker (`deviceId` of an `audiooutput` from `enumerateDevices()`), applied with `setSinkId` to the
   * ringtone and every call's remote `<audio>`. An unknown id does not fail connect(): it is reported as
   * an `audio_device_not_found` error (`onError` / `error` event, details `{kind, deviceId, cause}`) and
   * the default device is used.
   */
  audioOutputDeviceId?: string;
  /**
   * Microphone, passed to getUserMedia as `{deviceId: {exact: id}}`. A call placed or answered while the
   * id is unknown fails with `audio_device_not_found`.
   */
  audioInputDeviceId?: string;
  /**
   * Returns a fresh token; called before each token expires (as often as needed) and whenever the
   * server answers 401. The open connection then moves to the new token; live calls go on.
   */
  tokenResolver?: () => Promise<ResolvedToken> | ResolvedToken;
  /**
   * A refresh token (`POST /api/webphone/tokens` returns one): without a `tokenResolver`, the SDK
   * renews its token through `POST /api/webphone/tokens/refresh`, rotating the refresh token each time.
   */
  refreshToken?: string;
  /** Log to the console and expose `phone.debug` / `call.debug` (peer connection, streams). */
  debug?: boolean;
  /** Called with every error also emitted as the `error` event. */
  onError?: (error: ZorioWebphoneError) => void;
  /** Seconds a finished answered call stays in `wrap_up` before `closed` (default 10; 0 = until `call.close()`). */
  wrapUpSeconds?: number;
  reconnect?: ReconnectOptions;
  /** Injection seams for tests. */
  WebSocket?: WebSocketFactory;
  media?: MediaLayer;
}

/** Ids of the partner's records: strings or numbers (sent to the server as strings). */
export type RecordId = string | number;

export interface CallOptions {
  campaignId?: RecordId;
  leadId?: RecordId;
  customerId?: RecordId;
  /** Record the call (when the server records). */
  recording?: boolean;
  /** The name the called party sees for this call. */
  callerName?: string;
  /** The number the called party (or the trunk) sees for this call. */
  callerId?: string;
  meta?: Record<string, unknown>;
}

/** The campaign/lead context a call carries (from `CallOptions`, or the call record). */
export interface CallContext {
  campaignId?: string;
  leadId?: string;
  customerId?: string;
  callerName?: string;
}

export type RecordingState = "recording" | "paused" | "stopped";
/** `reject()`: `"busy"` answers 486 (the caller's reason `busy`), anything else 603 (`rejected`). */
export type RejectReason = "busy" | "decline" | 486 | 603;

export interface CallDebug {
  readonly peerConnection: RTCPeerConnection | null;
  readonly localStream: MediaStream | null;
  readonly remoteStream: MediaStream | null;
  /** The <audio> element that plays the remote stream. */
  readonly audio: HTMLAudioElement | null;
  /** This call's state changes, oldest first, as `old -> new`. */
  readonly transitions: readonly string[];
}

export interface CallEvents {
  trying: CallEvent;
  ringing: CallEvent;
  answered: CallEvent;
  held: HeldEvent;
  resumed: HeldEvent;
  muted: CallEvent;
  unmuted: CallEvent;
  dtmf: DtmfEvent;
  recording: RecordingEvent;
  /** A text from the server side of the call (a scenario's `send_message`). */
  message: CallMessageEvent;
  /**
   * Someone else is on the line now (`call.party`: a blind transfer moved this call to `number`, an
   * attended transfer joined it with the consult's other party); `number`, `name`, `from`/`fromName`
   * or `to`, and `uuid` (the new call record) are already updated.
   */
  party: PartyEvent;
  ended: HangupEvent;
}
export type CallEventName = keyof CallEvents;

export interface CallApi {
  /** This leg's id (null until the server sent `call.trying`). */
  readonly id: string | null;
  /** The call record's id, shared by both legs. */
  readonly uuid: string | null;
  readonly direction: CallDirection;
  readonly state: CallState;
  /** The other party's number (outgoing: the number dialled). */
  readonly number: string;
  /** The other party's display name when known. */
  readonly name: string;
  /** The calling side: its number and name (this extension for outgoing calls). */
  readonly from: string;
  readonly fromName: string;
  /** The number called (this extension for incoming calls). */
  readonly to: string;
  /** Campaign, lead and customer of the call, when it was placed with them. */
  readonly context: CallContext;
  /** `X-` headers the caller added (a scenario, a trunk), name -> value. */
  readonly headers: Record<string, unknown>;
  /** Texts from the server side of the call, oldest first. */
  readonly messages: readonly string[];
  readonly startedAt: Date;
  readonly answeredAt: Date | null;
  readonly endedAt: Date | null;
  readonly endReason: EndReason | string | null;
  readonly muted: boolean;
  /** Same as `muted`. */
  readonly isMuted: boolean;
  /** The state of the call's recording (null: not recorded). */
  readonly recording: RecordingState | null;
  /**
   * The call's RTCPeerConnection (null before media and after the end): e.g. send DTMF with
   * `getSenders().find(s => s.track?.kind === "audio").dtmf.insertDTMF("5")` (RFC 4733, relayed).
   */
  readonly peerConnection: RTCPeerConnection | null;
  /** Held by this side. */
  readonly onHold: boolean;
  /** Held by the other side. */
  readonly remoteHold: boolean;
  /** For a consult call of an attended transfer: the original (held) call. */
  readonly consultFor: CallApi | null;
  /** Only with `debug: true`. */
  readonly debug: CallDebug | undefined;
  on<E extends CallEventName>(event: E, handler: (payload: CallEvents[E]) => void): CallApi;
  /** Removes `handler`; without one, every handler of `event`. */
  off<E extends CallEventName>(event: E, handler?: (payload: CallEvents[E]) => void): CallApi;
  /**
   * Answers with the microphone. When the browser blocks it the call is rejected (486) and this
   * rejects with `microphone_denied`.
   */
  answer(): Promise<void>;
  hangup(): Promise<void>;
  reject(reason?: RejectReason): Promise<void>;
  mute(): Promise<void>;
  unmute(): Promise<void>;
  hold(): Promise<void>;
  unhold(): Promise<void>;
  /** Same as `unhold()`. */
  resume(): Promise<void>;
  sendDtmf(digits: string): Promise<void>;
  transfer(target: string): Promise<void>;
  attendedTransfer(target: string): Promise<CallApi>;
  completeTransfer(): Promise<void>;
  /** On a consult call: ends it, and the held call is resumed. */
  cancelTransfer(): Promise<void>;
  /** Recording requests (`call.record`); a server without recording rejects with its error. */
  startRecording(): Promise<void>;
  pauseRecording(): Promise<void>;
  resumeRecording(): Promise<void>;
  stopRecording(): Promise<void>;
  /** Ends the after-call wrap-up now (wrap_up -> closed). */
  close(): Promise<void>;
}

export interface CallEvent { call: CallApi }
export interface RegisteredEvent { extension: string; user: Record<string, unknown> }
export interface UnregisteredEvent { reason: "disconnect" | "pagehide" | "connection_lost" | "reconnect_failed" }
export interface ReconnectingEvent { attempt: number; delayMs: number }
export interface HangupEvent extends CallEvent { reason: EndReason | string }
export interface HeldEvent extends CallEvent { by: "local" | "remote" }
export interface DtmfEvent extends CallEvent { digit: string }
export interface RecordingEvent extends CallEvent { state: RecordingState }
export interface CallMessageEvent extends CallEvent { text: string }
export interface PartyEvent extends CallEvent { number: string; name: string }
/** `agent.state`: what a queue agent asks for. */
export type AgentQueueState = "logged_in" | "logged_out" | "paused" | "ready";
/** The agent's queue state as the server reports it (after `setAgentState`, or a change by the server). */
export interface AgentStateEvent { state: string; queues: string[] }

export interface PhoneEvents {
  registered: RegisteredEvent;
  unregistered: UnregisteredEvent;
  reconnecting: ReconnectingEvent;
  incoming_call: CallEvent;
  /** Seed 001's name: the payload is the call itself. */
  incoming: CallApi;
  call_ringing: CallEvent;
  call_answered: CallEvent;
  call_hangup: HangupEvent;
  call_held: HeldEvent;
  call_resumed: HeldEvent;
  muted: CallEvent;
  unmuted: CallEvent;
  error: ZorioWebphoneError;
  /** Something works less well than asked, e.g. `audio_output_unsupported`. */
  warning: ZorioWebphoneError;
  /** The agent's queue state changed elsewhere (another device of the extension, the server). */
  agent_state: AgentStateEvent;
}
export type PhoneEventName = keyof PhoneEvents;

/** One check: `ok` only when it ran and passed; a skipped check is neither ok nor failed. */
export interface DiagnoseCheck { status: "ok" | "fail" | "skipped"; ok: boolean; skipped: boolean; detail: string }
export interface DiagnoseResult {
  /** Every check ran and passed (a skipped check makes it false). */
  ok: boolean;
  /** No check failed (skipped ones aside). */
  noFailures: boolean;
  /** The names of the checks that were skipped. */
  skipped: string[];
  secureContext: DiagnoseCheck;
  microphone: DiagnoseCheck;
  config: DiagnoseCheck;
  websocket: DiagnoseCheck;
  stun: DiagnoseCheck;
  turn: DiagnoseCheck;
}
export interface DiagnoseOptions {
  apiBase?: string;
  token?: string;
  WebSocket?: WebSocketFactory;
  media?: MediaLayer;
}

export interface PhoneDebug {
  readonly socket: WebSocket | null;
  /** Frames received, newest last (up to 500). */
  readonly frames: readonly Record<string, unknown>[];
  /** Sends a raw frame (protocol tests). */
  send(frame: Record<string, unknown>): void;
}

export interface AppearanceOptions { layout?: Layout; theme?: ThemeMode; locale?: Locale }

/** `phone.directory()` entries: the tenant's extensions with their presence. */
export interface DirectoryEntry {
  number: string;
  name: string;
  presence: "available" | "busy" | "offline";
  /** This phone's own extension. */
  self: boolean;
}

/** `phone.callHistory()` entries: this extension's call records (`GET /api/webphone/calls`), newest first. */
export interface CallRecordEntry {
  uuid: string;
  direction: "incoming" | "outgoing" | "internal" | string;
  from: string;
  from_name: string;
  to: string;
  to_name: string;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  duration: number;
  end_reason: string | null;
  transferred_to: string | null;
  options: Record<string, unknown>;
  recording_url: string | null;
  card: Record<string, unknown> | null;
}

/** `phone.activeCalls` entries. */
export interface ActiveCall {
  id: string | null;
  from: string;
  to: string;
  state: "active" | "held" | "ringing";
  direction: CallDirection;
}

export interface PhoneApi {
  readonly status: PhoneStatus;
  readonly extension: string;
  readonly user: Record<string, unknown>;
  /** Calls not yet closed, oldest first. */
  readonly calls: readonly CallApi[];
  /** Live calls (not ended), oldest first. */
  readonly activeCalls: readonly ActiveCall[];
  readonly audioInputDeviceId: string | undefined;
  readonly audioOutputDeviceId: string | undefined;
  /** True while the browser blocks sound (show an "enable sound" control; see `enableAudio`). */
  readonly audioBlocked: boolean;
  /** Only with `debug: true`. */
  readonly debug: PhoneDebug | undefined;
  call(number: string, options?: CallOptions): Promise<CallApi>;
  /** The call with this id (leg id or record uuid), while it is not closed. */
  getCall(id: string): CallApi | undefined;
  /** A queue agent logs in or out of its queues (all of them, or `queue`), pauses or is ready again. */
  setAgentState(state: AgentQueueState, queue?: string): Promise<AgentStateEvent>;
  /** The tenant's extensions matching `query` (number or name), with presence (`GET /api/webphone/directory`). */
  directory(query?: string): Promise<DirectoryEntry[]>;
  /** This extension's calls, newest first (`GET /api/webphone/calls`). */
  callHistory(options?: { page?: number; pageSize?: number }): Promise<{ count: number; results: CallRecordEntry[] }>;
  register(): Promise<void>;
  disconnect(): Promise<void>;
  diagnose(): Promise<DiagnoseResult>;
  on<E extends PhoneEventName>(event: E, handler: (payload: PhoneEvents[E]) => void): PhoneApi;
  /** Removes `handler`; without one, every handler of `event`. */
  off<E extends PhoneEventName>(event: E, handler?: (payload: PhoneEvents[E]) => void): PhoneApi;
  /**
   * Switches the microphone (live calls get the new track; `undefined` = default). Rejects with
   * `audio_device_not_found` when a live call cannot open that device, and keeps the previous one.
   */
  setAudioInputDevice(deviceId: string | undefined): Promise<void>;
  /**
   * Switches the speaker of the ringtone and all calls (`setSinkId`; `undefined` = default). Rejects with
   * `audio_device_not_found` (details `{kind: "audiooutput", deviceId, cause}`) for an unknown id and
   * keeps the previous device.
   */
  setAudioOutputDevice(deviceId: string | undefined): Promise<void>;
  /** Retries blocked sound; call from a user gesture. */
  enableAudio(): Promise<void>;
  /** Switch the mounted UI's layout, theme or locale. */
  setAppearance(options: AppearanceOptions): void;
}

export interface ZorioWebphoneStatic {
  readonly version: string;
  connect(options: ConnectOptions): Promise<PhoneApi>;
  diagnose(options?: DiagnoseOptions): Promise<DiagnoseResult>;
  /** Cleans a typed or pasted number ("+84 (90) 123-4567" -> "+84901234567"). */
  cleanNumber(raw: string): string;
  ZorioWebphoneError: new (code: ErrorCode, details?: Record<string, unknown>) => ZorioWebphoneError;
}

declare global {
  interface Window {
    ZorioWebphone: ZorioWebphoneStatic;
  }
  const ZorioWebphone: ZorioWebphoneStatic;
}
