/**
 * `<zorio-phone>`: the widget UI in a Shadow DOM. It reads the Phone and its Calls and calls their
 * public methods; it re-renders from state, keeping focus by `data-k` keys and moving it where the
 * agent's next action is (after opening, placing, answering). A live region announces incoming
 * calls; the launcher shows live calls; a hidden tab gets a system notification for a ringing call.
 */
import type { Call } from "../call";
import type { ThemeConfig } from "../config";
import type { ZorioWebphoneError } from "../errors";
import { cleanNumber, normalizeDtmf } from "../numbers";
import type { Phone, PhoneView } from "../phone";
import type { AppearanceOptions, CallRecordEntry, DiagnoseResult, Layout, Locale, ThemeMode } from "../public-api";
import { type CardView, KEYS, button, callCard, incomingCard, wrapCard } from "./cards";
import { Directory } from "./directory";
import { type Child, formatDuration, h } from "./dom";
import { type Translate, translator } from "./i18n";
import { icon } from "./icons";
import { type Notifier, plainNotifier } from "./notices";
import { type PanelView, diagnosePanel, historyPanel, isMissed, settingsPanel } from "./panels";
import { fitTextColours } from "./contrast";
import { adoptStyles } from "./styles";

export const TAG = "zorio-phone";
const THEME_VARS: [keyof ThemeConfig, string][] = [
  ["primary_color", "--zorio-primary"], ["accent_color", "--zorio-accent"], ["danger_color", "--zorio-danger"],
  ["background_color", "--zorio-tenant-bg"], ["text_color", "--zorio-tenant-text"],
];
const FOCUSABLE = "button:not(:disabled),input:not(:disabled),select,[tabindex]";

type Screen = "main" | "settings" | "diagnose" | "history";

export class ZorioPhoneElement extends HTMLElement implements CardView, PanelView {
  phone!: Phone;
  t: Translate = translator("en");
  keypadFor: Call | null = null;
  transferFor: Call | null = null;
  transferTarget = "";
  directory: Directory | null = null;
  stale = false;
  devices: MediaDeviceInfo[] = [];
  diag: DiagnoseResult | "running" | null = null;
  history: CallRecordEntry[] | "loading" | null = null;
  /** The host page does the after-call work of this call (the softphone's card): no "Done" card here. */
  hostWrapsUp: ((call: Call) => boolean) | null = null;
  private readonly root: ShadowRoot;
  private readonly live = h("div", { class: "zorio-sr", "aria-live": "assertive" });
  private readonly fallbackStyle: HTMLStyleElement | null;
  private layout: Layout = "docked";
  private open = false;
  private screen: Screen = "main";
  private dial = "";
  private error = "";
  private focusNext = "";
  private scheduled = false;
  private readonly seen = new WeakSet<Call>();
  /**
   * How a ringing call the agent cannot see or hear is shown: a plain Notification here (a partner's
   * page cannot register a service worker, so no Answer/Decline on it); the softphone page gives one
   * with actions (softphone/notices.ts).
   */
  notifier: Notifier = plainNotifier((call) => this.reveal(call));
  private readonly noticed = new Set<Call>();
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    this.fallbackStyle = adoptStyles(this.root);
  }

  get locale(): Locale {
    return (this.getAttribute("lang") as Locale) || "en";
  }

  get themeMode(): ThemeMode {
    return (this.getAttribute("theme") as ThemeMode) || "auto";
  }

  /** Binds the element to a phone and applies the appearance (options first, then the tenant theme). */
  bind(phone: Phone, appearance: AppearanceOptions, theme: ThemeConfig | null): PhoneView {
    this.phone = phone;
    // CSSOM, not a style attribute: a strict style-src allows it.
    for (const [key, cssVar] of THEME_VARS) if (theme?.[key]) this.style.setProperty(cssVar, String(theme[key]));
    this.apply(appearance);
    this.fitColours();
    phone.listen("incoming_call", ({ call }) => this.ringing(call as Call));
    phone.listen("error", (err) => this.showError(err));
    phone.listen("warning", (warning) => this.showError(warning));
    phone.listen("unregistered", ({ reason }) => { this.stale = reason === "connection_lost"; this.update(); });
    phone.listen("registered", () => { this.stale = false; this.update(); });
    phone.listen("call_hangup", ({ call }) => this.announce(`${this.t("wrap_up_title")}: ${call.name || call.number}`));
    const early = phone.earlyErrors[phone.earlyErrors.length - 1];
    if (early) this.showError(early);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.addEventListener("keydown", (event) => this.onKey(event));
    document.addEventListener("visibilitychange", this.onVisibility);
    return {
      update: () => this.update(),
      setAppearance: (options) => this.apply(options),
      destroy: () => {
        clearInterval(this.ticker);
        document.removeEventListener("visibilitychange", this.onVisibility);
        this.directory?.stop();
        this.noticed.forEach((call) => this.notifier.close(call));
        this.remove();
      },
    };
  }

  /** Readable text on the tenant's colours; the softphone calls it again after customizeAppearance. */
  fitColours(): void {
    fitTextColours(this, this.root);
  }

  apply(options: AppearanceOptions): void {
    if (options.layout) this.layout = options.layout;
    if (options.theme) this.setAttribute("theme", options.theme);
    if (options.locale) {
      this.t = translator(options.locale);
      this.setAttribute("lang", options.locale);
    }
    this.setAttribute("layout", this.layout);
    this.render();
  }

  update(): void {
    for (const call of this.phone?.calls ?? []) {
      if (!this.seen.has(call)) {
        this.seen.add(call);
        if (call.live) this.open = true; // a new call (incoming, or placed through the API) opens the panel
      }
    }
    this.notify();
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.render();
    });
  }

  /** Runs a UI action; a rejection is shown in the error banner; `focus` is where focus goes after it. */
  act(fn: () => unknown, focus?: string): () => void {
    return () => {
      this.error = "";
      Promise.resolve()
        .then(fn)
        .then(() => { if (focus) this.focusNext = focus; }) // where the next action is, once it exists
        .catch((err: ZorioWebphoneError) => this.showError(err))
        .finally(() => this.update());
    };
  }

  toggleTransfer(call: Call): void {
    this.directory?.stop();
    this.transferFor = this.transferFor === call ? null : call;
    this.directory = this.transferFor ? new Directory(this.phone, () => this.update()) : null;
    this.transferTarget = "";
    this.focusNext = "transfer-target";
  }

  back(): void {
    this.screen = "main";
    this.focusNext = "dial";
    this.update();
  }

  async runDiagnose(): Promise<void> {
    this.diag = "running";
    this.update();
    this.diag = await this.phone.diagnose();
  }

  redial(number: string): void {
    this.screen = "main";
    this.dial = number;
    this.act(() => this.place(), "hangup-")();
  }

  async askNotifications(): Promise<void> {
    if (typeof Notification !== "undefined" && Notification.permission === "default") await Notification.requestPermission();
    this.update();
  }

  private ringing(call: Call): void {
    this.announce(this.t("incoming_from", { name: call.name || call.number }));
    this.reveal(call);
  }

  /** Brings a ringing call to the agent (a click on its notification): the panel opens on it. */
  reveal(call: Call): void {
    this.open = true;
    this.screen = "main";
    this.focusNext = `answer-${call.id}`;
    this.update();
  }

  /**
   * A hidden tab, or a ringtone the browser blocks, rings with nothing seen or heard: ringing calls
   * get a system notification (once the agent allowed them), closed when they stop ringing.
   */
  private notify(): void {
    for (const call of this.noticed) {
      if (call.state !== "ringing") {
        this.notifier.close(call);
        this.noticed.delete(call);
      }
    }
    if (!document.hidden && !this.phone.audioBlocked) return;
    for (const call of this.phone.calls) {
      if (call.direction !== "incoming" || call.state !== "ringing" || this.noticed.has(call)) continue;
      if (this.notifier.show(call, this.t("incoming_from", { name: call.name || call.number }), call.number)) this.noticed.add(call);
    }
  }

  private readonly onVisibility = () => this.update();

  private announce(text: string): void {
    this.live.textContent = "";
    setTimeout(() => { this.live.textContent = text; }, 50); // a change, even for the same words twice
  }

  private showError(err: ZorioWebphoneError): void {
    if (err.code === "audio_autoplay_blocked") return; // the "enable sound" control says it
    const key = `err_${err.code}`;
    this.error = this.t(key) === key ? this.t("err_generic") : this.t(key);
    this.update();
  }

  private async place(): Promise<void> {
    const number = cleanNumber(this.dial);
    await this.phone.call(number);
    this.dial = "";
  }

  private render(): void {
    const phone = this.phone;
    if (!phone) return;
    const moved = !!this.focusNext;
    const focusKey = this.focusNext || (this.root.activeElement as HTMLElement | null)?.dataset.k;
    this.focusNext = "";
    const t = this.t;
    const collapsible = this.layout !== "fullscreen";
    const live = phone.calls.filter((c) => c.live);
    let body: Node;
    if (collapsible && !this.open) {
      body = this.launcher(live);
    } else {
      const modal = this.layout === "overlay" && !live.length; // during a call the page stays usable
      const panel = h("div", { class: "zorio-panel", role: "dialog", "aria-label": t("title"), "aria-modal": modal ? "true" : undefined },
        this.header(collapsible, live),
        h("main", {},
          phone.audioBlocked && h("button", { type: "button", class: "zorio-sound", "data-k": "sound", onclick: this.act(() => phone.enableAudio()) }, t("enable_sound")),
          this.error && h("div", { class: "zorio-error", role: "alert" }, h("span", {}, this.error),
            button({ "data-k": "dismiss", onclick: () => { this.error = ""; this.update(); } }, "close", t("dismiss"), true)),
          phone.status === "failed" && h("div", { class: "zorio-lost", role: "alert" }, t("lost"),
            h("button", { type: "button", "data-k": "retry", onclick: this.act(() => phone.register(), "dial") }, t("retry"))),
          ...this.screenBody()));
      body = this.layout === "overlay" ? h("div", { class: "zorio-backdrop", "data-modal": modal ? "" : undefined }, panel) : panel;
    }
    this.root.replaceChildren(...(this.fallbackStyle ? [this.fallbackStyle] : []), this.live, body);
    if (focusKey) this.focusOn(focusKey, moved);
    this.tick();
  }

  /**
   * Focus back on the element of `key` after a render (`data-k`, or the first starting with it). A
   * move to the agent's next action waits for the key event that caused it to end: an Enter that
   * placed a call must not also press the Hang up button it moves to.
   */
  private focusOn(key: string, moved: boolean): void {
    const find = () => this.root.querySelector<HTMLElement>(`[data-k="${key}"]`) ?? this.root.querySelector<HTMLElement>(`[data-k^="${key}"]`);
    const apply = (el: HTMLElement | null) => {
      el?.focus();
      if (el instanceof HTMLInputElement && el.type !== "checkbox" && el.type !== "search") el.setSelectionRange?.(el.value.length, el.value.length);
    };
    if (moved) setTimeout(() => apply(find()), 0);
    else apply(find());
  }

  /** The closed widget: idle, or the live calls at a glance (count, timer, ringing). */
  private launcher(live: Call[]): HTMLElement {
    const ringing = live.some((c) => c.direction === "incoming" && c.state === "ringing");
    const up = live.find((c) => c.state === "answered");
    return h("button", {
      type: "button", class: "zorio-launcher", "data-k": "launcher", "data-live": ringing ? "ringing" : live.length ? "call" : undefined,
      "aria-label": live.length ? this.t("open_calls", { n: live.length }) : this.t("open"),
      onclick: () => {
        this.open = true;
        this.focusNext = ringing ? "answer-" : live.length ? "hangup-" : "dial";
        void this.askNotifications(); // a user gesture: the one moment a browser lets us ask
        this.update();
      },
    }, icon("phone"), up && h("span", { class: "zorio-timer", "data-since": up.answeredAt?.getTime() }, "00:00"),
    live.length > 0 && h("span", { class: "zorio-badge", "aria-hidden": "true" }, live.length));
  }

  private header(collapsible: boolean, live: Call[]): HTMLElement {
    const phone = this.phone;
    const t = this.t;
    const logo = phone.config.theme?.logo_url;
    const name = phone.ownName;
    // The header says what the agent is doing, not only that the phone is registered.
    const focused = live.find((c) => c.state === "answered" && !c.onHold) ?? live[0];
    const status = phone.status !== "registered" || !focused ? `status_${this.stale ? "failed" : phone.status}`
      : focused.state !== "answered" ? "status_ringing" : focused.onHold || focused.remoteHold ? "status_on_hold" : "status_in_call";
    const missed = Array.isArray(this.history) ? this.history.filter(isMissed).length : 0;
    const nav = (screen: Screen, key: string, glyph: "history" | "check" | "settings") => button({
      "data-k": `nav-${screen}`, "aria-pressed": String(this.screen === screen),
      onclick: () => {
        this.screen = this.screen === screen ? "main" : screen;
        if (this.screen === "settings") void this.loadDevices();
        if (this.screen === "history") void this.loadHistory();
        this.focusNext = `nav-${screen}`;
        this.update();
      },
    }, glyph, t(key), true);
    return h("header", {},
      logo ? h("img", { src: logo, alt: "" }) : null,
      h("span", { class: "zorio-dot", "data-s": this.stale ? "connecting" : phone.status, "aria-hidden": "true" }),
      h("div", { class: "zorio-title" }, `${phone.extension}${name ? " · " + name : ""}`,
        h("small", { class: "zorio-status", role: "status" }, t(status))),
      nav("history", "history", "history"),
      missed > 0 && h("span", { class: "zorio-sr" }, `${missed} ${t("missed")}`),
      nav("diagnose", "diagnose", "check"),
      nav("settings", "settings", "settings"),
      collapsible && button({ "data-k": "min", onclick: () => { this.open = false; this.focusNext = "launcher"; this.update(); } }, "minus", t("minimize"), true));
  }

  private screenBody(): Child[] {
    if (this.screen === "settings") return [settingsPanel(this)];
    if (this.screen === "diagnose") return [diagnosePanel(this)];
    if (this.screen === "history") return [historyPanel(this)];
    const calls = this.phone.calls;
    const live = calls.filter((c) => c.live);
    const ringingIn = live.filter((c) => c.direction === "incoming" && c.state === "ringing");
    const others = live.filter((c) => !ringingIn.includes(c));
    const focused = others.find((c) => !c.onHold) ?? others[others.length - 1];
    const out: Child[] = [];
    for (const call of ringingIn) out.push(incomingCard(this, call, others.length > 0));
    if (focused) out.push(callCard(this, focused, others));
    const rest = others.filter((c) => c !== focused);
    if (rest.length) {
      out.push(h("h2", {}, this.t("other_calls")), h("ul", { class: "zorio-list" }, ...rest.map((c) => h("li", {},
        h("span", {}, `${c.name || c.number} · ${c.onHold ? this.t("on_hold") : this.t(`state_${c.state}`)}`),
        c.state === "answered" && h("button", { type: "button", "data-k": `swap-${c.id}`, onclick: this.act(() => this.swap(focused!, c)) }, this.t("swap"))))));
    }
    // Only the latest finished call shows its after-call card: they never pile up.
    const last = calls.filter((c) => c.state === "wrap_up").pop();
    if (last && !this.hostWrapsUp?.(last)) out.push(wrapCard(this, last));
    if (!live.length) out.push(this.dialer());
    return out;
  }

  private async swap(from: Call, to: Call): Promise<void> {
    if (from.state === "answered") await from.hold();
    await to.unhold();
  }

  private dialer(): HTMLElement {
    const t = this.t;
    const ready = this.phone.status === "registered";
    const place = this.act(() => this.place(), "hangup-");
    const input = h("input", {
      type: "tel", inputmode: "tel", autocomplete: "off", "aria-label": t("number"), placeholder: t("number_placeholder"),
      value: this.dial, "data-k": "dial",
      oninput: (e: Event) => {
        const el = e.target as HTMLInputElement;
        const clean = el.value.replace(/[^0-9*#+]/g, "");
        if (clean !== el.value) el.value = clean;
        this.dial = clean;
      },
      onpaste: (e: ClipboardEvent) => {
        e.preventDefault();
        this.dial = cleanNumber(e.clipboardData?.getData("text") ?? "");
        (e.target as HTMLInputElement).value = this.dial;
      },
      onkeydown: (e: KeyboardEvent) => { if (e.key === "Enter") place(); },
    });
    return h("section", { class: "zorio-dialer", "aria-label": t("dialpad") },
      h("div", { class: "zorio-row" }, input,
        button({ class: "zorio-fit", "data-k": "bksp", onclick: () => { this.dial = this.dial.slice(0, -1); this.focusNext = "dial"; this.update(); } },
          "backspace", t("delete"), true)),
      h("div", { class: "zorio-keys", role: "group", "aria-label": t("dialpad") }, ...KEYS.map((key) => h("button", {
        type: "button", "data-k": `key-${key}`, onclick: () => { this.dial += key; this.update(); },
      }, key))),
      button({ class: "zorio-go", "data-k": "call", disabled: !ready || this.stale, onclick: place }, "phone", t("call")));
  }

  private async loadDevices(): Promise<void> {
    this.devices = await this.phone.media.enumerateDevices().catch(() => []);
    this.update();
  }

  private async loadHistory(): Promise<void> {
    this.history = "loading";
    this.update();
    try {
      this.history = (await this.phone.callHistory({ pageSize: 30 })).results;
    } catch (err) {
      this.history = [];
      this.showError(err as ZorioWebphoneError);
    }
    this.update();
  }

  private tick(): void {
    const now = Date.now();
    this.root.querySelectorAll<HTMLElement>(".zorio-timer[data-since]").forEach((el) => {
      el.textContent = formatDuration(now - Number(el.dataset.since));
    });
  }

  private onKey(event: KeyboardEvent): void {
    const target = event.composedPath()[0] as HTMLElement | undefined;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement;
    if (event.key === "Escape" && this.layout !== "fullscreen" && this.open) {
      this.open = false;
      this.focusNext = "launcher";
      this.update();
    } else if (event.key === "Tab" && this.layout === "overlay" && this.open && !this.phone.calls.some((c) => c.live)) {
      this.trapTab(event); // the idle overlay is modal: Tab stays in it
    } else if (!typing && !event.ctrlKey && !event.metaKey && !event.altKey && event.key.length === 1 && normalizeDtmf(event.key)) {
      // Typed digits go to the call in progress as DTMF.
      const call = this.phone.calls.find((c) => c.state === "answered" && !c.onHold);
      if (call) this.act(() => call.sendDtmf(event.key))();
    }
  }

  private trapTab(event: KeyboardEvent): void {
    const items = [...this.root.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const at = items.indexOf(this.root.activeElement as HTMLElement);
    const next = event.shiftKey ? (at <= 0 ? items.length - 1 : at - 1) : (at === items.length - 1 ? 0 : at + 1);
    event.preventDefault();
    items[next]?.focus();
  }

  /**
   * connect() failed before there was a phone: the mount point says why (and what to do) instead of
   * staying empty; the partner's code decides whether to try again.
   */
  static showFailure(host: Element, error: ZorioWebphoneError, locale: Locale): void {
    const element = document.createElement(TAG) as ZorioPhoneElement;
    element.setAttribute("layout", "docked");
    element.setAttribute("lang", locale);
    host.append(element);
    const t = translator(locale);
    const key = `err_${error.code}`;
    element.root.append(h("div", { class: "zorio-panel", role: "alert", "data-failed": error.code },
      h("header", {}, h("span", { class: "zorio-dot", "data-s": "failed", "aria-hidden": "true" }), h("div", { class: "zorio-title" }, t("title"))),
      h("main", {}, h("div", { class: "zorio-error" }, h("span", {}, t(key) === key ? t("err_generic") : t(key))),
        error.whatToDo && h("p", { class: "zorio-sub", lang: "en" }, error.whatToDo))));
  }
}

export function defineElement(): void {
  if (!customElements.get(TAG)) customElements.define(TAG, ZorioPhoneElement);
}
