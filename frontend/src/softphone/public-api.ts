/**
 * The public surface of `window.ZorioSoftphone`, as types only.
 *
 * Copied into `static/zorio/softphone.d.ts` by the build; `loader.ts` implements it.
 */

export type SoftphoneLanguage = "en" | "vi";

export interface SoftphoneInitOptions {
  /** The softphone page (default: `<server>/softphone/`). */
  url?: string;
  /** iframe width (number = px; default 360). */
  width?: number | string;
  /** iframe height (number = px; default 600). */
  height?: number | string;
  /** Origin of the Zorio server (default: the origin that served softphone.js). */
  server?: string;
  /** Port of the Zorio server, when `server` has none. */
  port?: number | string;
  language?: SoftphoneLanguage;
  /** Seconds the after-call card stays up after hang-up unless the agent edits it (default 30; 0 = until saved or cancelled). */
  wrapUpDuration?: number;
  /** Agent mode: the after-call card and wrap-up (default true). */
  enableAgent?: boolean;
  /** The tenant (slug or id): the softphone page is then framable only by this tenant's origins. */
  tenantId?: string | number;
  /** Log the bridge traffic to the console (both sides). */
  debug?: boolean;
  /** Do not log in again with the token remembered by the iframe (and ignore `token`). */
  disableAutoLogin?: boolean;
  /** Where and how the iframe is placed: CSS declarations (string or object), added to the defaults. */
  iframeCss?: string | Partial<Record<string, string>>;
  /** A token to log in with as soon as the iframe is ready (same as calling `loginWithToken`). */
  token?: string;
  /** Element the iframe is appended to (default `document.body`). */
  container?: Element | string;
  /** Show a hidden softphone when a call rings (default true). */
  showOnIncoming?: boolean;
}

/** A call as seen by the host page. */
export interface SoftphoneCall {
  id: string | null;
  /** The call record's id (`GET /api/webphone/calls`). */
  uuid: string | null;
  direction: "incoming" | "outgoing";
  state: "originating" | "ringing" | "answered" | "wrap_up" | "closed";
  number: string;
  name: string;
  /** The calling side (this agent for outgoing calls) and the number called. */
  from: string;
  fromName: string;
  to: string;
  /** Campaign, lead and customer the call was placed with. */
  context: { campaignId?: string; leadId?: string; customerId?: string; callerName?: string };
  recording: "recording" | "paused" | "stopped" | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  endReason: string | null;
  muted: boolean;
  onHold: boolean;
}

export type CardValues = Record<string, unknown>;

/** JSON Schema (draft 7 subset) of the after-call card: `type: object` with `properties`. */
export interface CardSchema {
  type?: "object";
  title?: string;
  required?: string[];
  properties: Record<string, CardFieldSchema>;
  [key: string]: unknown;
}
export interface CardFieldSchema {
  type?: "string" | "number" | "integer" | "boolean";
  title?: string;
  description?: string;
  enum?: (string | number)[];
  default?: unknown;
  /** `autocomplete`: the options are searched by the host (`onSearchOptions` → `onOptionsResults`). */
  format?: string;
  [key: string]: unknown;
}
/**
 * Per field: `{"ui:widget": "textarea" | "autocomplete" | "hidden", "ui:field": "autocomplete",
 * "ui:placeholder": "…", "ui:options": {...}}`; `"ui:order": [...]`. An autocomplete field's
 * `ui:options`: `triggerDisplay: true` fires `onDisplayLinkedOption` when an option is chosen (and
 * shows a button to fire it again); `createForm: {schema, uiSchema}` offers "New…": a small form
 * whose values go to `onCreateOption`, which returns the created option.
 */
export type CardUiSchema = Record<string, unknown>;

export type OptionResult = string | { value: string | number; label?: string };

/** Seed 004's shape: `{colors: {primary, secondary, ...}, metrics: {borderRadius, fontSize, ...}}`. */
export interface SoftphoneSeedColors {
  primary?: string;
  secondary?: string;
  accent?: string;
  success?: string;
  error?: string;
  danger?: string;
  background?: string;
  text?: string;
  button?: string;
}
export interface SoftphoneSeedMetrics {
  borderRadius?: string | number;
  fontSize?: string | number;
  fontFamily?: string;
}

/** Our flat keys, or the seed's `{colors, metrics}` (both may be mixed); an unknown key is refused. */
export interface SoftphoneTheme {
  colors?: SoftphoneSeedColors;
  metrics?: SoftphoneSeedMetrics;
  mode?: "light" | "dark" | "auto";
  primaryColor?: string;
  accentColor?: string;
  dangerColor?: string;
  backgroundColor?: string;
  textColor?: string;
  fontFamily?: string;
  fontSize?: string;
  borderRadius?: string;
}
/** `{key: text}` for the current language, or `{en: {…}, vi: {…}}`. Keys: the UI's message keys and `card_*`. */
export type SoftphoneTranslations = Record<string, string | Record<string, string>>;
export interface SoftphoneAssets {
  logoUrl?: string;
  /** Used from the next login. */
  ringtoneUrl?: string;
}

export interface AuthenticatedInfo { extension: string; user: Record<string, unknown>; tenant: string }
export type AgentState = "logged_out" | "ready" | "paused";
/** `queues`: the numbers of the queues the server has the agent in (empty: none, or a tenant without queues). */
export interface AgentInfo { extension: string; state: AgentState; since: string; queues: string[] }
/** A contact of the transfer directory / contact search (the server's or the host's). */
export interface SoftphoneContact { number: string; name?: string; presence?: "available" | "busy" | "offline" }
export interface LinkedOption { value: unknown; label: string }
export interface LoggedOutInfo { reason: string }
export interface CardSavedInfo { record: Record<string, unknown> }

export interface SoftphoneCallbacks {
  onCallIncoming?: (call: SoftphoneCall) => void;
  onCallLocallyAnswered?: (call: SoftphoneCall) => void;
  onCallEstablished?: (call: SoftphoneCall) => void;
  onOutgoingCallMade?: (call: SoftphoneCall) => void;
  onCallRejected?: (call: SoftphoneCall, reason: string) => void;
  onCallEnded?: (call: SoftphoneCall, card: CardValues | null, direction: "incoming" | "outgoing") => void;
  onCardSaved?: (call: SoftphoneCall, card: CardValues, info: CardSavedInfo) => void;
  onCardCanceled?: (call: SoftphoneCall, card: CardValues, info: { reason: "cancel" | "wrap_up_expired" }) => void;
  /** Return the options (or a promise of them), or call `onOptionsResults(fieldId, results)` later. */
  onSearchOptions?: (fieldId: string, query: string, call: SoftphoneCall | null) => OptionResult[] | Promise<OptionResult[]> | void;
  onCallHeld?: (call: SoftphoneCall, by: "local" | "remote") => void;
  onCallResumed?: (call: SoftphoneCall, by: "local" | "remote") => void;
  onCallMuted?: (call: SoftphoneCall) => void;
  onCallUnMuted?: (call: SoftphoneCall) => void;
  onDtmfSent?: (call: SoftphoneCall, digits: string) => void;
  onDirectTransfer?: (call: SoftphoneCall, target: string) => void;
  onAuthenticated?: (info: AuthenticatedInfo) => void;
  onLoggedOut?: (info: LoggedOutInfo) => void;
  onIFrameLoaded?: () => void;
  onLinkEnabled?: (link: HTMLAnchorElement) => void;
  /** An autocomplete option was chosen (`ui:options.triggerDisplay`) or its "view" button pressed: show it in the CRM. */
  onDisplayLinkedOption?: (fieldId: string, option: LinkedOption, call: SoftphoneCall | null) => void;
  /** "New…" of an autocomplete with `createForm`: create the record, return its option (or a promise of it). */
  onCreateOption?: (fieldId: string, values: CardValues, call: SoftphoneCall | null) => OptionResult | Promise<OptionResult> | void;
  /** The agent searches a contact (transfer directory): return the host's matches (or a promise); merged with the server's. */
  onWazoContactSearch?: (query: string) => SoftphoneContact[] | Promise<SoftphoneContact[]> | void;
  onAgentLoggedIn?: (agent: AgentInfo) => void;
  onAgentLoggedOut?: (agent: AgentInfo) => void;
  onAgentPaused?: (agent: AgentInfo) => void;
  onAgentResumed?: (agent: AgentInfo) => void;
  onLanguageChanged?: (language: SoftphoneLanguage) => void;
  /** An attended transfer started: `call` is held, a consult call to `target` is being placed. */
  onCreateIndirectTransfer?: (call: SoftphoneCall, target: string) => void;
  /** The consult call was placed (`consult.consultFor` is `call`). */
  onIndirectCallMade?: (consult: SoftphoneCall, call: SoftphoneCall) => void;
  /** The agent cancelled the consult: it ends and `call` is resumed. */
  onCancelIndirectTransfer?: (call: SoftphoneCall, consult: SoftphoneCall) => void;
  /** The agent confirmed the transfer (complete). */
  onConfirmIndirectTransfer?: (call: SoftphoneCall, consult: SoftphoneCall) => void;
  /** The two other parties are connected; the agent's legs ended `transferred`. */
  onIndirectTransferDone?: (call: SoftphoneCall, consult: SoftphoneCall) => void;
  /** The server confirmed recording (`call.recording`); a refusal is shown to the agent instead. */
  onStartRecording?: (call: SoftphoneCall) => void;
  onStopRecording?: (call: SoftphoneCall) => void;
  /** The finished call's record (as `GET /api/webphone/calls` lists it), once the server has closed it. */
  onCallLogCreated?: (record: Record<string, unknown>, call: SoftphoneCall) => void;
  /** Every signalling message the softphone receives (the server's JSON frames). */
  onWebsocketMessage?: (message: Record<string, unknown>) => void;
}

export interface ZorioSoftphoneError extends Error {
  readonly code: string;
}

export interface ZorioSoftphoneStatic extends SoftphoneCallbacks {
  readonly version: string;
  /** The iframe (null before `init` and after `remove`). */
  readonly iframe: HTMLIFrameElement | null;
  readonly visible: boolean;
  init(options?: SoftphoneInitOptions): HTMLIFrameElement;
  loginWithToken(token: string, refreshToken?: string): Promise<AuthenticatedInfo>;
  logout(): Promise<void>;
  makeCall(number: string): Promise<SoftphoneCall>;
  toggleDisplay(): boolean;
  show(): void;
  hide(): void;
  remove(): void;
  parseLinks(root?: ParentNode): number;
  removeParsedLinksEvent(): void;
  injectCss(css: string): Promise<void>;
  customizeAppearance(theme?: SoftphoneTheme | null, translations?: SoftphoneTranslations | null, assets?: SoftphoneAssets | null): Promise<void>;
  setFormSchema(schema: CardSchema, uiSchema?: CardUiSchema): Promise<void>;
  setCardValue(field: string, value: unknown): Promise<void>;
  onOptionsResults(fieldId: string, results: OptionResult[]): Promise<void>;
  /** Seed 004's name for `onOptionsResults`. */
  optionsFetched(fieldId: string, results: OptionResult[]): Promise<void>;
}
