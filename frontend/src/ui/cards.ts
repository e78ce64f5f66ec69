/**
 * The call cards of `<zorio-phone>`: an incoming call, the call in focus (who is on the line, its
 * context, state, timers and controls), the transfer panel with the directory, and the after-call
 * card. They read the calls and call their public methods through the element (`CardView`).
 */
import type { Call } from "../call";
import { cleanNumber } from "../numbers";
import type { Directory } from "./directory";
import { type Child, formatDuration, h } from "./dom";
import type { Translate } from "./i18n";
import { type IconName, icon } from "./icons";

export const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** What the cards need from the element. */
export interface CardView {
  t: Translate;
  keypadFor: Call | null;
  transferFor: Call | null;
  transferTarget: string;
  directory: Directory | null;
  /** The connection is being re-established: the calls' controls wait. */
  stale: boolean;
  act(fn: () => unknown, focus?: string): () => void;
  toggleTransfer(call: Call): void;
  update(): void;
}

/** A button with an icon and a text label (or, `iconOnly`, the label as its accessible name). */
export function button(attrs: Record<string, unknown>, name: IconName | null, label: string, iconOnly = false): HTMLElement {
  return h("button", { type: "button", ...(iconOnly ? { "aria-label": label, title: label } : {}), ...attrs },
    name && icon(name), iconOnly ? null : label);
}

function tags(call: Call, t: Translate): Child {
  const c = call.context;
  const items = [c.campaignId && t("campaign", { x: c.campaignId }), c.leadId && t("lead", { x: c.leadId }),
    c.customerId && t("customer", { x: c.customerId })].filter(Boolean) as string[];
  return items.length ? h("div", { class: "zorio-tags" }, ...items.map((text) => h("span", {}, text))) : null;
}

/** Who is on the line: the name (or number), the number under it, and the call's context. */
function party(call: Call, t: Translate): Child[] {
  return [h("div", { class: "zorio-peer" }, call.name || call.number), call.name ? h("div", { class: "zorio-sub" }, call.number) : null,
    tags(call, t)];
}

export function incomingCard(view: CardView, call: Call, waiting: boolean): HTMLElement {
  const t = view.t;
  return h("section", { class: "zorio-call zorio-incoming", "aria-label": t("incoming_from", { name: call.name || call.number }), "data-call": call.id },
    h("div", { class: "zorio-sub" }, waiting ? t("waiting") : t("incoming")),
    ...party(call, t),
    h("div", { class: "zorio-row" },
      button({ class: "zorio-answer", "data-k": `answer-${call.id}`, disabled: view.stale, onclick: view.act(() => call.answer(), `hangup-${call.id}`) },
        "phone", t("answer")),
      button({ class: "zorio-reject", "data-k": `reject-${call.id}`, onclick: view.act(() => call.reject()) }, "hangup", t("reject"))));
}

export function callCard(view: CardView, call: Call, all: readonly Call[]): HTMLElement {
  const t = view.t;
  const up = call.state === "answered";
  const live = up && !view.stale;
  const state = view.stale ? t("reconnecting") : [t(`state_${call.state}`), call.muted && t("muted"), call.recording === "recording" && t("recording")]
    .filter(Boolean).join(" · ");
  const toggle = (key: string, name: IconName, label: string, pressed: boolean, fn: () => unknown) =>
    button({ "data-k": `${key}-${call.id}`, "aria-pressed": String(pressed), disabled: !live, onclick: view.act(fn) }, name, label);
  const consult = all.find((c) => c.consultFor === call && c.live) ?? (call.consultFor ? call : null);
  const held = call.onHold || call.remoteHold;
  return h("section", { class: "zorio-call zorio-active", "aria-label": call.name || call.number, "data-call": call.id,
    "data-state": call.state, "data-stale": view.stale ? "" : undefined },
  call.consultFor && h("div", { class: "zorio-sub" }, t("consulting")),
  ...party(call, t),
  h("div", { class: "zorio-sub zorio-state", role: "status" }, state),
  up && h("div", { class: "zorio-timer", "data-since": call.answeredAt?.getTime() }, "00:00"),
  up && held && h("div", { class: "zorio-sub zorio-held" }, `${call.onHold ? t("on_hold") : t("held_remote")} `,
    h("span", { class: "zorio-timer", "data-since": call.heldSince?.getTime() }, "00:00")),
  up && h("div", { class: "zorio-controls" },
    toggle("mute", call.muted ? "micOff" : "mic", call.muted ? t("unmute") : t("mute"), call.muted, () => (call.muted ? call.unmute() : call.mute())),
    toggle("hold", call.onHold ? "play" : "pause", call.onHold ? t("unhold") : t("hold"), call.onHold, () => (call.onHold ? call.unhold() : call.hold())),
    toggle("keypad", "keypad", t("keypad"), view.keypadFor === call, () => { view.keypadFor = view.keypadFor === call ? null : call; }),
    !call.consultFor && toggle("transfer", "transfer", t("transfer"), view.transferFor === call, () => view.toggleTransfer(call)),
    toggle("record", "record", call.recording === "recording" ? t("stop_record") : t("record"), call.recording === "recording",
      () => (call.recording === "recording" ? call.stopRecording() : call.startRecording()))),
  live && view.keypadFor === call && h("div", { class: "zorio-keys", role: "group", "aria-label": t("keypad") },
    ...KEYS.map((key) => h("button", { type: "button", "data-k": `dtmf-${key}`, onclick: view.act(() => call.sendDtmf(key)) }, key))),
  live && view.transferFor === call && transferPanel(view, call),
  consult && consult.state === "answered" && h("div", { class: "zorio-row" },
    button({ class: "zorio-answer", "data-k": "complete", disabled: view.stale, onclick: view.act(() => consult.completeTransfer()) }, "transfer", t("complete")),
    button({ "data-k": "cancel-consult", disabled: view.stale, onclick: view.act(() => consult.cancelTransfer()) }, "close", t("cancel_consult"))),
  button({ class: "zorio-hangup", "data-k": `hangup-${call.id}`, onclick: view.act(() => call.hangup()) }, "hangup", t("hangup")));
}

/** The transfer target: typed, or picked from the directory (with presence); Enter transfers now. */
function transferPanel(view: CardView, call: Call): HTMLElement {
  const t = view.t;
  const go = (attended: boolean) => view.act(async () => {
    const target = cleanNumber(view.transferTarget);
    if (attended) await call.attendedTransfer(target);
    else await call.transfer(target);
    view.transferFor = null;
    view.transferTarget = "";
  }, attended ? "complete" : undefined);
  const directory = view.directory;
  const results = directory?.results ?? [];
  return h("div", { class: "zorio-transfer" },
    h("label", {}, t("transfer_target"), h("input", {
      type: "search", "data-k": "transfer-target", value: view.transferTarget, autocomplete: "off", placeholder: t("search_contact"),
      oninput: (e: Event) => {
        view.transferTarget = (e.target as HTMLInputElement).value;
        directory?.search(view.transferTarget);
      },
      onkeydown: (e: KeyboardEvent) => { if (e.key === "Enter") go(false)(); },
    })),
    directory?.loaded && h("ul", { class: "zorio-list zorio-directory", "aria-label": t("transfer_target") },
      ...results.map((c) => h("li", {},
        h("button", { type: "button", class: "zorio-pick", "data-k": `pick-${c.number}`, onclick: () => { view.transferTarget = c.number; view.update(); } },
          h("span", {}, c.name || c.number, h("small", {}, `${c.number}${c.presence ? ` · ${t(c.presence)}` : ""}`))),
        c.presence && h("span", { class: "zorio-presence", "data-presence": c.presence, "aria-hidden": "true" }))),
      !results.length && h("li", {}, h("span", {}, t("no_match")))),
    h("div", { class: "zorio-row" },
      h("button", { type: "button", "data-k": "blind", onclick: go(false) }, t("blind")),
      h("button", { type: "button", "data-k": "consult", onclick: go(true) }, t("consult"))));
}

export function wrapCard(view: CardView, call: Call): HTMLElement {
  const t = view.t;
  const talked = call.answeredAt && call.endedAt ? call.endedAt.getTime() - call.answeredAt.getTime() : 0;
  return h("section", { class: "zorio-call zorio-wrap", "aria-label": t("wrap_up_title"), "data-call": call.id, "data-state": call.state },
    h("div", { class: "zorio-sub" }, `${t("wrap_up_title")} · ${t(`reason_${call.endReason}`)}`),
    ...party(call, t),
    h("div", { class: "zorio-timer" }, formatDuration(talked)),
    h("div", { class: "zorio-sub" }, t("state_wrap_up")),
    h("button", { type: "button", "data-k": `done-${call.id}`, onclick: view.act(() => call.close(), "dial") }, t("done")));
}
