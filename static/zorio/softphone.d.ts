// Types of /static/zorio/softphone.js (Zorio Softphone 0.1.0). Generated from frontend/src/softphone/public-api.ts.
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
/** Per field: `{"ui:widget": "textarea" | "autocomplete" | "hidden", "ui:placeholder": "…"}`; `"ui:order": [...]`. */
export type CardUiSchema = Record<string, unknown>;

export type OptionResult = string | { value: string | number; label?: string };

export interface SoftphoneTheme {
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
}

declare global {
  interface Window {
    ZorioSoftphone: ZorioSoftphoneStatic;
  }
  const ZorioSoftphone: ZorioSoftphoneStatic;
}
