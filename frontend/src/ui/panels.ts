/**
 * The other screens of `<zorio-phone>`: call history (with missed calls and call back), settings
 * (devices, notifications) and the connection check, each rendered from the element's state.
 */
import { canChooseSpeaker } from "../audio";
import { CHECK_NAMES } from "../checks-names";
import type { Phone } from "../phone";
import type { CallRecordEntry, DiagnoseResult } from "../public-api";
import { button } from "./cards";
import { formatDuration, h } from "./dom";
import type { Translate } from "./i18n";

export interface PanelView {
  t: Translate;
  locale: string;
  phone: Phone;
  devices: MediaDeviceInfo[];
  diag: DiagnoseResult | "running" | null;
  history: CallRecordEntry[] | "loading" | null;
  act(fn: () => unknown, focus?: string): () => void;
  back(): void;
  runDiagnose(): Promise<void>;
  redial(number: string): void;
  askNotifications(): Promise<void>;
}

/** A missed call: it rang here and nobody took it (declined calls are not missed). */
export function isMissed(r: CallRecordEntry): boolean {
  return r.direction === "incoming" && !r.answered_at && r.end_reason !== "rejected" && r.end_reason !== "answered-elsewhere";
}

const backButton = (view: PanelView) => h("button", { type: "button", "data-k": "back", onclick: () => view.back() }, view.t("back"));

export function historyPanel(view: PanelView): HTMLElement {
  const t = view.t;
  const list = view.history;
  const when = (iso: string) => new Date(iso).toLocaleString(view.locale, { dateStyle: "short", timeStyle: "short" });
  return h("section", { class: "zorio-history", "aria-label": t("history") },
    h("h2", {}, t("history")),
    list === "loading" || list === null ? h("p", { role: "status" }, t("running"))
      : !list.length ? h("p", {}, t("no_calls"))
        : h("ul", { class: "zorio-list" }, ...list.map((r) => {
          const incoming = r.direction === "incoming";
          const [number, name] = incoming ? [r.from, r.from_name] : [r.to, r.to_name];
          const missed = isMissed(r);
          return h("li", { "data-record": r.uuid, "data-missed": missed ? "" : undefined },
            h("span", { class: missed ? "zorio-missed" : undefined }, name || number,
              h("small", {}, [missed ? t("missed") : t(incoming ? "incoming" : "call"), when(r.started_at),
                r.answered_at ? formatDuration(r.duration * 1000) : t(`reason_${r.end_reason}`)].join(" · "))),
            button({ "data-k": `redial-${r.uuid}`, onclick: () => view.redial(number) }, "redial", `${t("call_back")} ${name || number}`, true));
        })),
    backButton(view));
}

export function settingsPanel(view: PanelView): HTMLElement {
  const t = view.t;
  const phone = view.phone;
  const select = (kind: MediaDeviceKind, current: string | undefined, pick: (id: string) => Promise<void>) =>
    h("select", { "data-k": kind, onchange: (e: Event) => view.act(() => pick((e.target as HTMLSelectElement).value))() },
      h("option", { value: "" }, t("default_device")),
      ...view.devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== "default").map((d, i) =>
        h("option", { value: d.deviceId, selected: d.deviceId === current }, d.label || `${t(kind === "audioinput" ? "microphone" : "speaker")} ${i + 1}`)));
  const notifications = typeof Notification === "undefined" ? null : h("label", { class: "zorio-check" },
    h("input", { type: "checkbox", "data-k": "notify", checked: Notification.permission === "granted", disabled: Notification.permission !== "default",
      onchange: () => void view.askNotifications() }), t("notifications"));
  return h("section", { class: "zorio-settings", "aria-label": t("settings") },
    h("h2", {}, t("settings")),
    h("label", {}, t("microphone"), select("audioinput", phone.audioInputDeviceId, (id) => phone.setAudioInputDevice(id))),
    h("label", {}, t("speaker"), canChooseSpeaker()
      ? select("audiooutput", phone.audioOutputDeviceId, (id) => phone.setAudioOutputDevice(id))
      : h("span", {}, t("speaker_unsupported"))),
    notifications,
    backButton(view));
}

export function diagnosePanel(view: PanelView): HTMLElement {
  const t = view.t;
  const result = view.diag;
  const done = result && result !== "running" ? result : null;
  return h("section", { class: "zorio-diagnose", "aria-label": t("diagnose") },
    h("h2", {}, t("diagnose")),
    h("button", { type: "button", class: "zorio-go", "data-k": "run", disabled: result === "running", onclick: view.act(() => view.runDiagnose()) },
      result === "running" ? t("running") : t("run")),
    done && h("p", { role: "status" }, t(done.ok ? "diag_ok" : done.noFailures ? "diag_partial" : "diag_failed")),
    done && h("ul", { class: "zorio-list zorio-checks" }, ...CHECK_NAMES.map((name) => {
      const check = done[name];
      return h("li", { "data-check": name, "data-status": check.status },
        h("span", {}, t(`check_${name}`), h("small", { translate: "no" }, check.detail)),
        h("b", { class: `zorio-${check.status}` }, t(check.status === "fail" ? "failed" : check.status)));
    })),
    backButton(view));
}
