/**
 * The card desk: one after-call card per established call (newest first), its wrap-up countdown
 * after hang-up (stopped for good when the agent edits the card), Save (`POST
 * /api/webphone/calls/<uuid>/card`, then `onCardSaved`) and Cancel (`onCardCanceled`).
 */
import type { CallApi } from "../public-api";
import { h } from "../ui/dom";
import type { Appearance } from "./appearance";
import { CardForm } from "./card";
import type { CardSchema, CardUiSchema, CardValues, OptionResult, SoftphoneCall, SoftphoneCallbacks } from "./public-api";

const NOTICE_MS = 4000;

export interface DeskOptions {
  enabled: boolean;
  wrapUpS: number;
  token(): string;
  emit(name: keyof SoftphoneCallbacks, ...args: unknown[]): void;
  /** Fires a callback and resolves with its result (null when the host gave none). */
  ask(name: keyof SoftphoneCallbacks, ...args: unknown[]): Promise<unknown>;
  summary(call: CallApi): SoftphoneCall;
}

interface Card {
  call: CallApi;
  form: CardForm;
  element: HTMLElement;
  edited: boolean;
  endsAt: number | null;
  timer: ReturnType<typeof setInterval> | undefined;
  status: string;
  busy: boolean;
}

export class CardDesk {
  private schema: CardSchema | null = null;
  private uiSchema: CardUiSchema = {};
  private cards: Card[] = [];
  /** Values set by the host before the card opened (applied to the next card). */
  private presets: CardValues = {};
  private searching: Card | null = null;
  private readonly notice = h("p", { class: "zorio-card-notice", role: "status", hidden: true });
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly root: HTMLElement, private readonly look: Appearance, private readonly opts: DeskOptions) {}

  setSchema(schema: CardSchema, uiSchema: CardUiSchema): void {
    if (!schema || typeof schema !== "object" || typeof schema.properties !== "object") {
      throw Object.assign(new Error("The schema needs 'properties'."), { code: "bad_request" });
    }
    const ui = uiSchema && typeof uiSchema === "object" ? uiSchema : {};
    new CardForm(schema, ui, { t: this.look.t, edited: () => undefined, search: () => undefined, display: () => undefined,
      create: async () => null }); // refuses what it cannot render (e.g. a createForm without properties)
    this.schema = schema;
    this.uiSchema = ui;
    for (const card of this.cards) card.form = this.makeForm(card, card.form.values(false) ?? {});
    this.render();
  }

  setValue(field: string, value: unknown): void {
    const card = this.cards[0];
    if (card?.form.has(field)) card.form.setValue(field, value);
    else this.presets[field] = value;
  }

  setOptions(fieldId: string, results: OptionResult[]): void {
    const card = this.searching && this.cards.includes(this.searching) ? this.searching : this.cards[0];
    card?.form.setOptions(fieldId, results);
  }

  has(call: CallApi): boolean {
    return this.cards.some((c) => c.call === call);
  }

  valuesOf(call: CallApi): CardValues | null {
    return this.cards.find((c) => c.call === call)?.form.values(false) ?? null;
  }

  /** A call was established: its card opens (when there is a schema and agent mode is on). */
  open(call: CallApi): void {
    if (!this.opts.enabled || !this.schema || this.cards.some((c) => c.call === call)) return;
    const card: Card = { call, form: null as unknown as CardForm, element: h("section"), edited: false, endsAt: null, timer: undefined, status: "", busy: false };
    card.form = this.makeForm(card, this.presets);
    this.presets = {};
    this.cards.unshift(card);
    this.render();
  }

  /** The call ended: the wrap-up countdown starts unless the agent already edited the card. */
  ended(call: CallApi): void {
    const card = this.cards.find((c) => c.call === call);
    if (!card || card.edited || this.opts.wrapUpS <= 0) {
      this.render();
      return;
    }
    card.endsAt = Date.now() + this.opts.wrapUpS * 1000;
    card.timer = setInterval(() => {
      if (card.endsAt !== null && Date.now() >= card.endsAt) this.finish(card, "wrap_up_expired");
      else this.render();
    }, 1000);
    this.render();
  }

  private makeForm(card: Card, values: CardValues): CardForm {
    return new CardForm(this.schema!, this.uiSchema, {
      t: this.look.t,
      edited: () => {
        card.edited = true;
        if (card.endsAt !== null) {
          clearInterval(card.timer);
          card.endsAt = null;
          this.render();
        }
      },
      search: (fieldId, query) => {
        this.searching = card;
        this.opts.emit("onSearchOptions", fieldId, query, this.opts.summary(card.call));
      },
      display: (fieldId, option) => this.opts.emit("onDisplayLinkedOption", fieldId, option, this.opts.summary(card.call)),
      create: async (fieldId, values) => {
        const made = await this.opts.ask("onCreateOption", fieldId, values, this.opts.summary(card.call));
        if (typeof made === "string" || typeof made === "number") return { value: made, label: String(made) };
        const option = made as { value?: unknown; label?: unknown } | null;
        return option && option.value !== undefined ? { value: option.value, label: String(option.label ?? option.value) } : null;
      },
    }, values);
  }

  private async save(card: Card): Promise<void> {
    const values = card.form.values();
    if (!values || card.busy) return;
    card.busy = true;
    card.status = this.look.t("card_saving");
    this.render();
    try {
      const response = await fetch(`${location.origin}/api/webphone/calls/${card.call.uuid}/card`, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.opts.token()}`, "Content-Type": "application/json" },
        body: JSON.stringify({ card: values, schema: this.schema }),
      });
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (!response.ok) throw new Error(String(body.message ?? response.status));
      this.opts.emit("onCardSaved", this.opts.summary(card.call), values, { record: body });
      this.confirm(this.look.t("card_saved"));
      this.close(card);
    } catch (err) {
      card.status = `${this.look.t("card_save_failed")} ${(err as Error).message}`;
      card.busy = false;
      this.render();
    }
  }

  /** A short confirmation the agent (and a screen reader, through the status role) gets after a save. */
  private confirm(text: string): void {
    clearTimeout(this.noticeTimer);
    this.notice.textContent = text;
    this.notice.hidden = false;
    this.noticeTimer = setTimeout(() => { this.notice.hidden = true; this.notice.textContent = ""; this.render(); }, NOTICE_MS);
  }

  private finish(card: Card, reason: "cancel" | "wrap_up_expired"): void {
    this.opts.emit("onCardCanceled", this.opts.summary(card.call), card.form.values(false) ?? {}, { reason });
    this.close(card);
  }

  private close(card: Card): void {
    clearInterval(card.timer);
    this.cards = this.cards.filter((c) => c !== card);
    if (card.call.state === "wrap_up") void card.call.close();
    this.render();
  }

  render(): void {
    const t = this.look.t;
    for (const card of this.cards) {
      const left = card.endsAt === null ? null : Math.max(0, Math.ceil((card.endsAt - Date.now()) / 1000));
      const el = card.element;
      if (el.firstChild?.nextSibling !== card.form.element) {
        el.className = "zorio-card";
        el.replaceChildren(
          h("h2", {}, ""), card.form.element,
          h("p", { class: "zorio-card-countdown", role: "timer" }),
          h("p", { class: "zorio-card-status", role: "status" }),
          h("div", { class: "zorio-card-actions" },
            h("button", { type: "button", class: "zorio-card-save", onclick: () => void this.save(card) }),
            h("button", { type: "button", class: "zorio-card-cancel", onclick: () => this.finish(card, "cancel") })));
      }
      el.setAttribute("aria-label", t("card_title"));
      el.dataset.call = card.call.uuid ?? "";
      el.dataset.state = card.call.state;
      const part = (selector: string) => el.querySelector<HTMLElement>(selector)!;
      part("h2").textContent = `${t("card_title")} · ${card.call.name || card.call.number}`;
      part(".zorio-card-countdown").textContent = left === null ? "" : t("card_closes_in").replace("{s}", String(left));
      part(".zorio-card-countdown").hidden = left === null;
      part(".zorio-card-status").textContent = card.status;
      part(".zorio-card-status").hidden = !card.status;
      for (const [selector, key] of [[".zorio-card-save", "card_save"], [".zorio-card-cancel", "card_cancel"]] as const) {
        const button = part(selector) as HTMLButtonElement;
        button.textContent = t(key);
        button.disabled = card.busy;
      }
    }
    const wanted = [this.notice, ...this.cards.map((c) => c.element)];
    if (wanted.length !== this.root.children.length || wanted.some((el, i) => this.root.children[i] !== el)) this.root.replaceChildren(...wanted);
    this.root.hidden = this.cards.length === 0 && this.notice.hidden;
    document.body.classList.toggle("zorio-with-card", this.cards.length > 0);
    document.querySelector("zorio-phone")?.classList.toggle("zorio-with-card", this.cards.length > 0);
  }
}
