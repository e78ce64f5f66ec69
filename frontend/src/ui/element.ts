/**
 * `<zorio-phone>`: the widget UI in a Shadow DOM. It reads the Phone and its Calls and calls their
 * public methods; it re-renders from state (focus is kept by `data-k` keys).
 */
import type { Call } from "../call";
import type { ThemeConfig } from "../config";
import type { ZorioWebphoneError } from "../errors";
import { cleanNumber } from "../numbers";
import type { Phone, PhoneView } from "../phone";
import type { AppearanceOptions, DiagnoseResult, Layout, Locale, ThemeMode } from "../public-api";
import { type Child, formatDuration, h } from "./dom";
import { translator } from "./i18n";
import { STYLES } from "./styles";

export const TAG = "zorio-phone";
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const CHECKS = ["secureContext", "microphone", "config", "websocket", "stun", "turn"] as const;
const PHONE_ICON = "\u260E";
const THEME_VARS: [keyof ThemeConfig, string][] = [
  ["primary_color", "--zorio-primary"], ["accent_color", "--zorio-accent"], ["danger_color", "--zorio-danger"],
  ["background_color", "--zorio-tenant-bg"], ["text_color", "--zorio-tenant-text"],
];

type Screen = "main" | "settings" | "diagnose";

export class ZorioPhoneElement extends HTMLElement {
  private phone: Phone | null = null;
  private readonly root: ShadowRoot;
  private t = translator("en");
  private layout: Layout = "docked";
  private open = false;
  private screen: Screen = "main";
  private dial = "";
  private keypadFor: Call | null = null;
  private transferFor: Call | null = null;
  private transferTarget = "";
  private diag: DiagnoseResult | "running" | null = null;
  private devices: MediaDeviceInfo[] = [];
  private error = "";
  private scheduled = false;
  private readonly seen = new WeakSet<Call>();
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
  }

  /** Binds the element to a phone and applies the appearance (options first, then the tenant theme). */
  bind(phone: Phone, appearance: AppearanceOptions, theme: ThemeConfig | null): PhoneView {
    this.phone = phone;
    for (const [key, cssVar] of THEME_VARS) if (theme?.[key]) this.style.setProperty(cssVar, String(theme[key]));
    this.apply(appearance);
    phone.on("incoming_call", () => this.show());
    phone.on("error", (err) => this.showError(err));
    phone.on("warning", (warning) => this.showError(warning));
    const early = phone.earlyErrors[phone.earlyErrors.length - 1];
    if (early) this.showError(early);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.addEventListener("keydown", (event) => this.onKey(event));
    return {
      update: () => this.update(),
      setAppearance: (options) => this.apply(options),
      destroy: () => {
        clearInterval(this.ticker);
        this.phone = null;
        this.remove();
      },
    };
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

  get locale(): Locale {
    return (this.getAttribute("lang") as Locale) || "en";
  }

  get themeMode(): ThemeMode {
    return (this.getAttribute("theme") as ThemeMode) || "auto";
  }

  update(): void {
    // A new call (incoming, or placed through the API) opens the panel.
    for (const call of this.phone?.calls ?? []) {
      if (!this.seen.has(call)) {
        this.seen.add(call);
        if (call.live) this.open = true;
      }
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.render();
    });
  }

  private show(): void {
    this.open = true;
    this.screen = "main";
    this.update();
  }

  private showError(err: ZorioWebphoneError): void {
    if (err.code === "audio_autoplay_blocked") return; // the "enable sound" control says it
    this.error = this.t(`err_${err.code}`) === `err_${err.code}` ? this.t("err_generic") : this.t(`err_${err.code}`);
    this.update();
  }

  /** Runs a UI action; a rejection is shown in the error banner. */
  private act(fn: () => Promise<unknown> | unknown): () => void {
    return () => {
      this.error = "";
      Promise.resolve()
        .then(fn)
        .catch((err: ZorioWebphoneError) => this.showError(err))
        .finally(() => this.update());
    };
  }

  private render(): void {
    const phone = this.phone;
    if (!phone) return;
    const active = this.root.activeElement as HTMLElement | null;
    const focusKey = active?.dataset.k;
    const t = this.t;
    const style = h("style", {}, STYLES);
    const collapsible = this.layout !== "fullscreen";
    let body: Child;
    if (collapsible && !this.open) {
      const ringing = phone.calls.some((c) => c.direction === "incoming" && c.state === "ringing");
      body = h("button", {
        class: `zorio-launcher${ringing ? " zorio-ring" : ""}`, "aria-label": t("open"), title: t("open"), "data-k": "launcher",
        onclick: () => this.show(),
      }, PHONE_ICON);
    } else {
      const panel = h("div", { class: "zorio-panel", role: "dialog", "aria-label": t("title") },
        this.header(collapsible),
        h("main", {},
          phone.audioBlocked && h("button", { class: "zorio-sound", "data-k": "sound", onclick: this.act(() => phone.enableAudio()) }, t("enable_sound")),
          this.error && h("div", { class: "zorio-error", role: "alert" }, h("span", {}, this.error),
            h("button", { "aria-label": t("dismiss"), title: t("dismiss"), onclick: () => { this.error = ""; this.update(); } }, "\u00D7")),
          ...this.screenBody()));
      body = this.layout === "overlay" ? h("div", { class: "zorio-backdrop" }, panel) : panel;
    }
    this.root.replaceChildren(style, body as Node);
    if (focusKey) {
      const el = this.root.querySelector<HTMLElement>(`[data-k="${focusKey}"]`);
      el?.focus();
      if (el instanceof HTMLInputElement) el.setSelectionRange(el.value.length, el.value.length);
    }
    this.tick();
  }

  private header(collapsible: boolean): HTMLElement {
    const phone = this.phone!;
    const t = this.t;
    const logo = phone.config.theme?.logo_url;
    const name = String(phone.config.display_name || phone.user.display_name || "");
    const nav = (screen: Screen, key: string, icon: string) => h("button", {
      "aria-label": t(key), title: t(key), "data-k": `nav-${screen}`, "aria-pressed": String(this.screen === screen),
      onclick: () => {
        this.screen = this.screen === screen ? "main" : screen;
        if (this.screen === "settings") void this.loadDevices();
        this.update();
      },
    }, icon);
    return h("header", {},
      logo ? h("img", { src: logo, alt: "" }) : null,
      h("span", { class: "zorio-dot", "data-s": phone.status, "aria-hidden": "true" }),
      h("div", { class: "zorio-title" }, `${phone.extension}${name ? " · " + name : ""}`,
        h("small", { class: "zorio-status", role: "status" }, t(`status_${phone.status}`))),
      nav("diagnose", "diagnose", "\u2713"),
      nav("settings", "settings", "\u2699"),
      collapsible && h("button", { "aria-label": t("minimize"), title: t("minimize"), "data-k": "min", onclick: () => { this.open = false; this.update(); } }, "\u2013"));
  }

  private screenBody(): Child[] {
    if (this.screen === "settings") return [this.settings()];
    if (this.screen === "diagnose") return [this.diagnose()];
    const phone = this.phone!;
    const calls = phone.calls;
    const live = calls.filter((c) => c.live);
    const ringingIn = live.filter((c) => c.direction === "incoming" && c.state === "ringing");
    const others = live.filter((c) => !ringingIn.includes(c));
    const focused = others.find((c) => !c.onHold) ?? others[others.length - 1];
    const out: Child[] = [];
    for (const call of ringingIn) out.push(this.incomingCard(call, others.length > 0));
    if (focused) out.push(this.callCard(focused, others));
    const rest = others.filter((c) => c !== focused);
    if (rest.length) {
      out.push(h("h2", {}, this.t("other_calls")), h("ul", { class: "zorio-list" }, ...rest.map((c) => h("li", {},
        h("span", {}, `${c.name || c.number} · ${c.onHold ? this.t("on_hold") : this.t(`state_${c.state}`)}`),
        c.state === "answered" && h("button", { "data-k": `swap-${c.id}`, onclick: this.act(() => this.swap(focused!, c)) }, this.t("swap"))))));
    }
    for (const call of calls.filter((c) => c.state === "wrap_up")) out.push(this.wrapCard(call));
    if (!live.length) out.push(this.dialer());
    return out;
  }

  private async swap(from: Call, to: Call): Promise<void> {
    if (from.state === "answered") await from.hold();
    await to.unhold();
  }

  private dialer(): HTMLElement {
    const t = this.t;
    const ready = this.phone!.status === "registered";
    const place = this.act(async () => {
      const number = cleanNumber(this.dial);
      await this.phone!.call(number);
      this.dial = "";
    });
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
        h("button", { "aria-label": t("delete"), title: t("delete"), style: "flex:none", "data-k": "bksp",
          onclick: () => { this.dial = this.dial.slice(0, -1); this.update(); } }, "\u232B")),
      h("div", { class: "zorio-keys", role: "group", "aria-label": t("dialpad") }, ...KEYS.map((key) => h("button", {
        "data-k": `key-${key}`, "aria-label": key, onclick: () => { this.dial += key; this.update(); },
      }, key))),
      h("button", { class: "zorio-go", "data-k": "call", disabled: !ready, onclick: place }, `${PHONE_ICON} ${t("call")}`));
  }

  private incomingCard(call: Call, waiting: boolean): HTMLElement {
    const t = this.t;
    return h("section", { class: "zorio-call zorio-incoming", "aria-label": t("incoming"), "data-call": call.id },
      h("div", { class: "zorio-sub" }, waiting ? t("waiting") : t("incoming")),
      h("div", { class: "zorio-peer" }, call.name || call.number),
      call.name && h("div", { class: "zorio-sub" }, call.number),
      h("div", { class: "zorio-row" },
        h("button", { class: "zorio-answer", "data-k": `answer-${call.id}`, onclick: this.act(() => call.answer()) }, t("answer")),
        h("button", { class: "zorio-reject", "data-k": `reject-${call.id}`, onclick: this.act(() => call.reject()) }, t("reject"))));
  }

  private callCard(call: Call, all: Call[]): HTMLElement {
    const t = this.t;
    const up = call.state === "answered";
    const flags = [call.onHold && t("on_hold"), call.remoteHold && t("held_remote"), call.muted && t("muted")].filter(Boolean);
    const toggle = (key: string, label: string, pressed: boolean, fn: () => unknown) =>
      h("button", { "data-k": `${key}-${call.id}`, "aria-pressed": String(pressed), onclick: this.act(fn) }, label);
    const consult = all.find((c) => c.consultFor === call) ?? (call.consultFor ? call : null);
    return h("section", { class: "zorio-call zorio-active", "aria-label": call.name || call.number, "data-call": call.id, "data-state": call.state },
      call.consultFor && h("div", { class: "zorio-sub" }, t("consulting")),
      h("div", { class: "zorio-peer" }, call.name || call.number),
      h("div", { class: "zorio-sub zorio-state", role: "status" }, [t(`state_${call.state}`), ...flags].join(" · ")),
      up && h("div", { class: "zorio-timer", "data-since": call.answeredAt?.getTime() }, "00:00"),
      up && h("div", { class: "zorio-controls" },
        toggle("mute", call.muted ? t("unmute") : t("mute"), call.muted, () => (call.muted ? call.unmute() : call.mute())),
        toggle("hold", call.onHold ? t("unhold") : t("hold"), call.onHold, () => (call.onHold ? call.unhold() : call.hold())),
        toggle("keypad", t("keypad"), this.keypadFor === call, () => { this.keypadFor = this.keypadFor === call ? null : call; }),
        toggle("transfer", t("transfer"), this.transferFor === call, () => { this.transferFor = this.transferFor === call ? null : call; })),
      up && this.keypadFor === call && h("div", { class: "zorio-keys", role: "group", "aria-label": t("keypad") },
        ...KEYS.map((key) => h("button", { "data-k": `dtmf-${key}`, "aria-label": key, onclick: this.act(() => call.sendDtmf(key)) }, key))),
      up && this.transferFor === call && this.transferForm(call),
      consult && consult.state === "answered" && h("button", { class: "zorio-go", "data-k": "complete", onclick: this.act(() => consult.completeTransfer()) }, t("complete")),
      h("button", { class: "zorio-hangup", "data-k": `hangup-${call.id}`, onclick: this.act(() => call.hangup()) }, t("hangup")));
  }

  private transferForm(call: Call): HTMLElement {
    const t = this.t;
    const go = (attended: boolean) => this.act(async () => {
      const target = cleanNumber(this.transferTarget);
      if (attended) await call.attendedTransfer(target);
      else await call.transfer(target);
      this.transferFor = null;
      this.transferTarget = "";
    });
    return h("div", { class: "zorio-transfer" },
      h("label", {}, t("transfer_target"), h("input", {
        type: "tel", "data-k": "transfer-target", value: this.transferTarget, autocomplete: "off",
        oninput: (e: Event) => { this.transferTarget = (e.target as HTMLInputElement).value; },
      })),
      h("div", { class: "zorio-row" },
        h("button", { "data-k": "blind", onclick: go(false) }, t("blind")),
        h("button", { "data-k": "consult", onclick: go(true) }, t("consult"))));
  }

  private wrapCard(call: Call): HTMLElement {
    const t = this.t;
    const talked = call.answeredAt && call.endedAt ? call.endedAt.getTime() - call.answeredAt.getTime() : 0;
    return h("section", { class: "zorio-call zorio-wrap", "aria-label": t("wrap_up_title"), "data-call": call.id, "data-state": call.state },
      h("div", { class: "zorio-sub" }, `${t("wrap_up_title")} · ${t(`reason_${call.endReason}`)}`),
      h("div", { class: "zorio-peer" }, call.name || call.number),
      h("div", { class: "zorio-timer" }, formatDuration(talked)),
      h("div", { class: "zorio-sub" }, t("state_wrap_up")),
      h("button", { "data-k": `done-${call.id}`, onclick: this.act(() => call.close()) }, t("done")));
  }

  private settings(): HTMLElement {
    const t = this.t;
    const phone = this.phone!;
    const select = (kind: MediaDeviceKind, current: string | undefined, onpick: (id: string) => Promise<void>) =>
      h("select", { "data-k": kind, onchange: this.act((): Promise<void> => onpick((this.root.querySelector(`[data-k=${kind}]`) as HTMLSelectElement).value)) },
        h("option", { value: "" }, t("default_device")),
        ...this.devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== "default").map((d, i) =>
          h("option", { value: d.deviceId, selected: d.deviceId === current }, d.label || `${t(kind === "audioinput" ? "microphone" : "speaker")} ${i + 1}`)));
    const canSink = "setSinkId" in HTMLMediaElement.prototype;
    return h("section", { class: "zorio-settings", "aria-label": t("settings") },
      h("h2", {}, t("settings")),
      h("label", {}, t("microphone"), select("audioinput", phone.audioInputDeviceId, (id) => phone.setAudioInputDevice(id))),
      h("label", {}, t("speaker"), canSink
        ? select("audiooutput", phone.audioOutputDeviceId, (id) => phone.setAudioOutputDevice(id))
        : h("span", {}, t("speaker_unsupported"))),
      h("button", { "data-k": "back", onclick: () => { this.screen = "main"; this.update(); } }, t("back")));
  }

  private async loadDevices(): Promise<void> {
    try {
      this.devices = await this.phone!.media.enumerateDevices();
    } catch {
      this.devices = [];
    }
    this.update();
  }

  private diagnose(): HTMLElement {
    const t = this.t;
    const result = this.diag;
    const run = this.act(async () => {
      this.diag = "running";
      this.update();
      this.diag = await this.phone!.diagnose();
    });
    return h("section", { class: "zorio-diagnose", "aria-label": t("diagnose") },
      h("h2", {}, t("diagnose")),
      h("button", { class: "zorio-go", "data-k": "run", disabled: result === "running", onclick: run }, result === "running" ? t("running") : t("run")),
      result && result !== "running" && h("p", { role: "status" },
        t(result.ok ? "diag_ok" : result.noFailures ? "diag_partial" : "diag_failed")),
      result && result !== "running" && h("ul", { class: "zorio-list zorio-checks" }, ...CHECKS.map((name) => {
        const check = result[name];
        return h("li", { "data-check": name, "data-status": check.status },
          h("span", {}, t(`check_${name}`), h("small", { translate: "no" }, check.detail)),
          h("b", { class: `zorio-${check.status}` }, t(check.status === "fail" ? "failed" : check.status)));
      })),
      h("button", { "data-k": "back", onclick: () => { this.screen = "main"; this.update(); } }, t("back")));
  }

  private tick(): void {
    const now = Date.now();
    this.root.querySelectorAll<HTMLElement>(".zorio-timer[data-since]").forEach((el) => {
      el.textContent = formatDuration(now - Number(el.dataset.since));
    });
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key === "Escape" && this.layout !== "fullscreen" && this.open) {
      this.open = false;
      this.update();
    }
  }
}

export function defineElement(): void {
  if (!customElements.get(TAG)) customElements.define(TAG, ZorioPhoneElement);
}
