/**
 * Entry of softphone.js: defines `window.ZorioSoftphone` once (never overwrites an existing one).
 *
 * A loader only: it creates the iframe (`/softphone/`, where the whole phone UI runs), talks to it
 * through the versioned postMessage bridge (explicit target origin; every message checked for the
 * iframe's origin AND its contentWindow), queues requests until the iframe says `ready`, and turns
 * `tel:` / `callto:` links of the page into calls through the softphone.
 */
import { type Envelope, type EventPayload, originOf, pack, type ReplyPayload, type RequestType, unpack } from "./bridge";
import type {
  AuthenticatedInfo, CardSchema, CardUiSchema, OptionResult, SoftphoneAssets, SoftphoneCall, SoftphoneCallbacks,
  SoftphoneInitOptions, SoftphoneTheme, SoftphoneTranslations, ZorioSoftphoneStatic,
} from "./public-api";

declare const __VERSION__: string;

const SCRIPT_SRC = (document.currentScript as HTMLScriptElement | null)?.src ?? "";
const REPLY_TIMEOUT_MS = 60000;
const LINK_SELECTOR = 'a[href^="tel:" i],a[href^="callto:" i]';
const LINK_ATTR = "data-zorio-link";
const BASE_CSS: Record<string, string> = {
  position: "fixed", right: "16px", bottom: "16px", border: "0", "border-radius": "12px", background: "#fff",
  "box-shadow": "0 10px 40px rgba(0,0,0,.3)", "z-index": "2147483000",
  // a 380 px softphone on a 375 px phone: it shrinks instead of being cut
  "max-width": "calc(100vw - 32px)", "max-height": "calc(100vh - 32px)",
};
/** Requests whose latest payload is sent again when the iframe reloads. */
const STICKY: readonly RequestType[] = ["css", "appearance", "schema"];
/** Callbacks the iframe may fire (an explicit list: never a lookup of an arbitrary name). */
const CALLBACKS: readonly (keyof SoftphoneCallbacks)[] = [
  "onCallIncoming", "onCallLocallyAnswered", "onCallEstablished", "onOutgoingCallMade", "onCallRejected",
  "onCallEnded", "onCardSaved", "onCardCanceled", "onSearchOptions", "onCallHeld", "onCallResumed", "onCallMuted",
  "onCallUnMuted", "onDtmfSent", "onDirectTransfer", "onAuthenticated", "onLoggedOut", "onIFrameLoaded", "onLinkEnabled",
  "onDisplayLinkedOption", "onCreateOption", "onWazoContactSearch", "onAgentLoggedIn", "onAgentLoggedOut", "onAgentPaused",
  "onAgentResumed", "onLanguageChanged", "onCreateIndirectTransfer", "onIndirectCallMade", "onCancelIndirectTransfer",
  "onConfirmIndirectTransfer", "onIndirectTransferDone", "onStartRecording", "onStopRecording", "onCallLogCreated",
  "onWebsocketMessage",
];

class SoftphoneError extends Error {
  override readonly name = "ZorioSoftphoneError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

interface Pending { resolve(value: unknown): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> }

/** The number of a tel:/callto: href ("tel:+84%2090-123;ext=1" -> "+8490123"), or "" when none. */
export function linkNumber(href: string): string {
  const match = /^\s*(?:tel|callto):(?:\/\/)?([^;?]*)/i.exec(href);
  if (!match) return "";
  let raw = match[1] ?? "";
  try {
    raw = decodeURIComponent(raw);
  } catch { /* keep it encoded */ }
  return raw.replace(/[^0-9+*#]/g, "");
}

function cssText(css: SoftphoneInitOptions["iframeCss"]): Record<string, string> {
  if (!css) return {};
  if (typeof css !== "string") return Object.fromEntries(Object.entries(css).filter((e): e is [string, string] => typeof e[1] === "string"));
  const out: Record<string, string> = {};
  for (const decl of css.split(";")) {
    const at = decl.indexOf(":");
    if (at > 0) out[decl.slice(0, at).trim()] = decl.slice(at + 1).trim();
  }
  return out;
}

const px = (value: number | string | undefined, fallback: string): string =>
  value === undefined || value === "" ? fallback : typeof value === "number" ? `${value}px` : value;

class Softphone implements ZorioSoftphoneStatic {
  readonly version = __VERSION__;
  iframe: HTMLIFrameElement | null = null;
  visible = false;
  private origin = "";
  private ready = false;
  private debug = false;
  private seq = 0;
  private queue: Envelope[] = [];
  private readonly sticky = new Map<RequestType, Envelope>();
  private readonly pending = new Map<string, Pending>();
  private readonly links = new Map<HTMLAnchorElement, (event: MouseEvent) => void>();
  private observer: MutationObserver | null = null;
  private autoShow = true;
  private readonly notices = new Map<string, Notification>();

  // Callbacks: assigned by the host page (ZorioSoftphone.onCallIncoming = (call) => …).
  onCallIncoming?: SoftphoneCallbacks["onCallIncoming"];
  onCallLocallyAnswered?: SoftphoneCallbacks["onCallLocallyAnswered"];
  onCallEstablished?: SoftphoneCallbacks["onCallEstablished"];
  onOutgoingCallMade?: SoftphoneCallbacks["onOutgoingCallMade"];
  onCallRejected?: SoftphoneCallbacks["onCallRejected"];
  onCallEnded?: SoftphoneCallbacks["onCallEnded"];
  onCardSaved?: SoftphoneCallbacks["onCardSaved"];
  onCardCanceled?: SoftphoneCallbacks["onCardCanceled"];
  onSearchOptions?: SoftphoneCallbacks["onSearchOptions"];
  onCallHeld?: SoftphoneCallbacks["onCallHeld"];
  onCallResumed?: SoftphoneCallbacks["onCallResumed"];
  onCallMuted?: SoftphoneCallbacks["onCallMuted"];
  onCallUnMuted?: SoftphoneCallbacks["onCallUnMuted"];
  onDtmfSent?: SoftphoneCallbacks["onDtmfSent"];
  onDirectTransfer?: SoftphoneCallbacks["onDirectTransfer"];
  onAuthenticated?: SoftphoneCallbacks["onAuthenticated"];
  onLoggedOut?: SoftphoneCallbacks["onLoggedOut"];
  onIFrameLoaded?: SoftphoneCallbacks["onIFrameLoaded"];
  onLinkEnabled?: SoftphoneCallbacks["onLinkEnabled"];
  onDisplayLinkedOption?: SoftphoneCallbacks["onDisplayLinkedOption"];
  onCreateOption?: SoftphoneCallbacks["onCreateOption"];
  onWazoContactSearch?: SoftphoneCallbacks["onWazoContactSearch"];
  onAgentLoggedIn?: SoftphoneCallbacks["onAgentLoggedIn"];
  onAgentLoggedOut?: SoftphoneCallbacks["onAgentLoggedOut"];
  onAgentPaused?: SoftphoneCallbacks["onAgentPaused"];
  onAgentResumed?: SoftphoneCallbacks["onAgentResumed"];
  onLanguageChanged?: SoftphoneCallbacks["onLanguageChanged"];
  onCreateIndirectTransfer?: SoftphoneCallbacks["onCreateIndirectTransfer"];
  onIndirectCallMade?: SoftphoneCallbacks["onIndirectCallMade"];
  onCancelIndirectTransfer?: SoftphoneCallbacks["onCancelIndirectTransfer"];
  onConfirmIndirectTransfer?: SoftphoneCallbacks["onConfirmIndirectTransfer"];
  onIndirectTransferDone?: SoftphoneCallbacks["onIndirectTransferDone"];
  onStartRecording?: SoftphoneCallbacks["onStartRecording"];
  onStopRecording?: SoftphoneCallbacks["onStopRecording"];
  onCallLogCreated?: SoftphoneCallbacks["onCallLogCreated"];
  onWebsocketMessage?: SoftphoneCallbacks["onWebsocketMessage"];

  init(options: SoftphoneInitOptions = {}): HTMLIFrameElement {
    if (this.iframe) return this.iframe;
    this.debug = !!options.debug;
    this.autoShow = options.showOnIncoming !== false;
    const url = new URL(this.pageUrl(options), location.href);
    const params: Record<string, string | undefined> = {
      origin: location.origin,
      tenant: options.tenantId === undefined ? undefined : String(options.tenantId),
      language: options.language,
      wrapup: options.wrapUpDuration === undefined ? undefined : String(Math.max(0, Math.round(options.wrapUpDuration))),
      agent: options.enableAgent === false ? "0" : undefined,
      autologin: options.disableAutoLogin ? "0" : undefined,
      debug: options.debug ? "1" : undefined,
    };
    for (const [key, value] of Object.entries(params)) if (value) url.searchParams.set(key, value);
    this.origin = url.origin;
    const iframe = document.createElement("iframe");
    iframe.className = "zorio-softphone";
    iframe.title = "Zorio softphone";
    iframe.setAttribute("allow", "microphone; autoplay; speaker-selection");
    const css = { ...BASE_CSS, width: px(options.width, "360px"), height: px(options.height, "600px"), ...cssText(options.iframeCss) };
    for (const [prop, value] of Object.entries(css)) iframe.style.setProperty(prop, value);
    addEventListener("message", this.onMessage);
    iframe.src = url.href;
    const container = typeof options.container === "string" ? document.querySelector(options.container) : options.container;
    (container ?? document.body).append(iframe);
    this.iframe = iframe;
    this.visible = true;
    if (options.token && !options.disableAutoLogin) void this.loginWithToken(options.token).catch(() => undefined);
    return iframe;
  }

  private pageUrl(options: SoftphoneInitOptions): string {
    if (options.url) return options.url;
    let base = options.server || originOf(SCRIPT_SRC) || location.origin;
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(base)) base = `${location.protocol}//${base}`;
    const server = new URL(base);
    if (options.port !== undefined && options.port !== "") server.port = String(options.port);
    return `${server.origin}/softphone/`;
  }

  // -- the bridge ------------------------------------------------------------------------------

  private readonly onMessage = (event: MessageEvent): void => {
    // Only the iframe we created, at the origin we loaded it from.
    if (!this.iframe || event.source !== this.iframe.contentWindow || event.origin !== this.origin) return;
    const env = unpack(event.data);
    if (!env) return;
    this.log("<-", env.type, env.payload);
    if (env.type === "ready") this.onReady();
    else if (env.type === "reply") this.onReply(env.id, env.payload as ReplyPayload);
    else if (env.type === "event") this.onEvent(env.id, env.payload as EventPayload);
    else if (env.type === "notice") this.onNotice(env.id, env.payload as { title?: unknown; body?: unknown } | null);
  };

  private onReady(): void {
    const again = this.ready;
    this.ready = true;
    // First, so that the iframe knows this page's origin from the message itself (its event.origin).
    this.post(pack("hello", `h${++this.seq}`, {}).zorio);
    if (again) for (const env of this.sticky.values()) this.post(env);
    for (const env of this.queue.splice(0)) this.post(env);
    this.fire("onIFrameLoaded", []);
  }

  private onReply(id: string, payload: ReplyPayload): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (payload?.ok) waiting.resolve(payload.result);
    else waiting.reject(new SoftphoneError(payload?.error?.code ?? "failed", payload?.error?.message ?? "The softphone refused."));
  }

  private onEvent(id: string, payload: EventPayload): void {
    const name = CALLBACKS.find((n) => n === payload?.name);
    if (!name || name === "onLinkEnabled" || name === "onIFrameLoaded") return;
    const args = Array.isArray(payload.args) ? payload.args : [];
    if (name === "onCallIncoming") this.ringing();
    const result = this.fire(name, args);
    if (name === "onSearchOptions" && result) {
      Promise.resolve(result as OptionResult[] | Promise<OptionResult[]>)
        .then((options) => (Array.isArray(options) ? this.onOptionsResults(String(args[0]), options) : undefined))
        .catch((err) => this.log("onSearchOptions failed", err));
    } else if (payload.wantsResult) {
      // The iframe waits for what the callback returns (nothing: it goes on without).
      Promise.resolve(result)
        .then((value) => value, (err) => { this.log(`${name} failed`, err); return undefined; })
        .then((value) => this.request("event.result", { event: id, result: value === undefined ? null : value }))
        .catch((err) => this.log("event.result failed", err));
    }
  }

  /** A call rings: a hidden softphone is shown (it would ring with nothing on screen). */
  private ringing(): void {
    if (this.autoShow && !this.visible) this.show();
  }

  /**
   * The iframe could not show a ringing call's notification itself (its own one has Answer and
   * Decline): a plain one from this page, when its origin has notifications allowed; a click brings
   * the window and the softphone to the front. Closed when the iframe says the call stopped ringing.
   */
  private onNotice(tag: string, notice: { title?: unknown; body?: unknown } | null): void {
    this.notices.get(tag)?.close();
    this.notices.delete(tag);
    if (!notice || typeof Notification === "undefined" || Notification.permission !== "granted") return;
    const shown = new Notification(String(notice.title ?? ""), { body: String(notice.body ?? ""), tag, requireInteraction: true });
    shown.onclick = () => {
      window.focus();
      this.show();
      shown.close();
    };
    this.notices.set(tag, shown);
  }

  private fire(name: keyof SoftphoneCallbacks, args: unknown[]): unknown {
    const callback = this[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof callback !== "function") return undefined;
    try {
      return callback.apply(this, args);
    } catch (err) {
      console.error(`[ZorioSoftphone] ${name} threw`, err); // a host bug must not break the bridge
      return undefined;
    }
  }

  private post(env: Envelope): void {
    this.log("->", env.type, env.payload);
    this.iframe?.contentWindow?.postMessage({ zorio: env }, this.origin);
  }

  private request<T>(type: RequestType, payload: unknown): Promise<T> {
    if (!this.iframe) return Promise.reject(new SoftphoneError("not_initialized", "Call ZorioSoftphone.init() first."));
    const env = pack(type, `h${++this.seq}`, payload).zorio;
    if (STICKY.includes(type)) this.sticky.set(type, env);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(env.id);
        reject(new SoftphoneError("timeout", `The softphone did not answer '${type}'.`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(env.id, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (this.ready) this.post(env);
      else this.queue.push(env);
    });
  }

  private log(...args: unknown[]): void {
    if (this.debug) console.debug("[ZorioSoftphone]", ...args);
  }

  // -- the API ---------------------------------------------------------------------------------

  loginWithToken(token: string, refreshToken?: string): Promise<AuthenticatedInfo> {
    return this.request("login", { token, refreshToken: refreshToken ?? null });
  }

  logout(): Promise<void> {
    return this.request("logout", {});
  }

  makeCall(number: string): Promise<SoftphoneCall> {
    this.show();
    return this.request("call", { number: String(number) });
  }

  show(): void {
    if (this.iframe) this.iframe.style.display = "";
    this.visible = !!this.iframe;
  }

  hide(): void {
    if (this.iframe) this.iframe.style.display = "none";
    this.visible = false;
  }

  toggleDisplay(): boolean {
    if (this.visible) this.hide();
    else this.show();
    return this.visible;
  }

  remove(): void {
    this.removeParsedLinksEvent();
    removeEventListener("message", this.onMessage);
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(new SoftphoneError("removed", "The softphone was removed."));
    }
    this.pending.clear();
    this.queue = [];
    this.sticky.clear();
    this.notices.forEach((notice) => notice.close());
    this.notices.clear();
    this.iframe?.remove();
    this.iframe = null;
    this.ready = false;
    this.visible = false;
  }

  parseLinks(root: ParentNode = document): number {
    root.querySelectorAll<HTMLAnchorElement>(LINK_SELECTOR).forEach((link) => this.enableLink(link));
    if (!this.observer && typeof MutationObserver !== "undefined") {
      this.observer = new MutationObserver((records) => this.onMutations(records));
      this.observer.observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["href"] });
    }
    return this.links.size;
  }

  private onMutations(records: MutationRecord[]): void {
    for (const record of records) {
      if (record.type === "attributes" && record.target instanceof HTMLAnchorElement) {
        if (linkNumber(record.target.getAttribute("href") ?? "")) this.enableLink(record.target);
        else this.disableLink(record.target);
      }
      record.addedNodes.forEach((node) => {
        if (!(node instanceof Element)) return;
        if (node.matches(LINK_SELECTOR)) this.enableLink(node as HTMLAnchorElement);
        node.querySelectorAll<HTMLAnchorElement>(LINK_SELECTOR).forEach((link) => this.enableLink(link));
      });
    }
  }

  private enableLink(link: HTMLAnchorElement): void {
    if (this.links.has(link) || !linkNumber(link.getAttribute("href") ?? "")) return;
    const listener = (event: MouseEvent) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      const number = linkNumber(link.getAttribute("href") ?? "");
      this.makeCall(number).catch((err) => this.log("call from link failed", number, err));
    };
    link.addEventListener("click", listener);
    link.setAttribute(LINK_ATTR, "");
    link.classList.add("zorio-link");
    this.links.set(link, listener);
    this.fire("onLinkEnabled", [link]);
  }

  private disableLink(link: HTMLAnchorElement): void {
    const listener = this.links.get(link);
    if (!listener) return;
    link.removeEventListener("click", listener);
    link.removeAttribute(LINK_ATTR);
    link.classList.remove("zorio-link");
    if (!link.classList.length) link.removeAttribute("class");
    this.links.delete(link);
  }

  removeParsedLinksEvent(): void {
    this.observer?.disconnect();
    this.observer = null;
    for (const link of [...this.links.keys()]) this.disableLink(link);
  }

  injectCss(css: string): Promise<void> {
    return this.request("css", { css: String(css) });
  }

  customizeAppearance(theme?: SoftphoneTheme | null, translations?: SoftphoneTranslations | null, assets?: SoftphoneAssets | null): Promise<void> {
    return this.request("appearance", { theme: theme ?? null, translations: translations ?? null, assets: assets ?? null });
  }

  setFormSchema(schema: CardSchema, uiSchema: CardUiSchema = {}): Promise<void> {
    return this.request("schema", { schema, uiSchema });
  }

  setCardValue(field: string, value: unknown): Promise<void> {
    return this.request("card.value", { field: String(field), value });
  }

  onOptionsResults(fieldId: string, results: OptionResult[]): Promise<void> {
    return this.request("options.results", { fieldId: String(fieldId), results: Array.isArray(results) ? results : [] });
  }

  optionsFetched(fieldId: string, results: OptionResult[]): Promise<void> {
    return this.onOptionsResults(fieldId, results);
  }
}

const globalScope = window as unknown as { ZorioSoftphone?: ZorioSoftphoneStatic };
if (!globalScope.ZorioSoftphone) {
  Object.defineProperty(window, "ZorioSoftphone", { value: new Softphone(), enumerable: true, configurable: false, writable: false });
}
