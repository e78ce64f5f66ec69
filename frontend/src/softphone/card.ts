/**
 * The after-call card: a form rendered from a JSON Schema (string, number, integer, boolean, enum,
 * textarea and autocomplete widgets through the uiSchema, required fields), its values, and its
 * client-side checks. The server validates again with the same schema when the card is saved.
 */
import { h } from "../ui/dom";
import type { CardFieldSchema, CardSchema, CardUiSchema, CardValues, OptionResult } from "./public-api";

export type Widget = "text" | "textarea" | "number" | "integer" | "checkbox" | "select" | "autocomplete" | "hidden";

interface Field {
  key: string;
  schema: CardFieldSchema;
  widget: Widget;
  required: boolean;
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  error: HTMLElement;
  /** Autocomplete: the chosen option's value (the input shows its label). */
  chosen?: { value: unknown; label: string } | null;
  listbox?: HTMLElement;
  options?: AutocompleteOptions;
  view?: HTMLButtonElement;
}

export interface CardHooks {
  t(key: string): string;
  /** The agent changed a field (stops the wrap-up countdown). */
  edited(): void;
  /** An autocomplete field asks for options. */
  search(fieldId: string, query: string): void;
  /** Show a chosen option in the host's CRM (`onDisplayLinkedOption`). */
  display(fieldId: string, option: { value: unknown; label: string }): void;
  /** Create an option from a `createForm`'s values (`onCreateOption`); null: the host made none. */
  create(fieldId: string, values: CardValues): Promise<{ value: unknown; label: string } | null>;
}

/** An autocomplete field's `ui:options`. */
interface AutocompleteOptions {
  triggerDisplay: boolean;
  createForm: { schema: CardSchema; uiSchema: CardUiSchema } | null;
}

function autocompleteOptions(ui: Record<string, unknown>): AutocompleteOptions {
  const options = (ui["ui:options"] ?? {}) as Record<string, unknown>;
  const form = options.createForm as { schema?: CardSchema; uiSchema?: CardUiSchema } | undefined;
  if (form !== undefined && (typeof form !== "object" || !form || typeof form.schema?.properties !== "object")) {
    throw Object.assign(new Error("ui:options.createForm needs {schema: {properties}, uiSchema?}."), { code: "bad_request" });
  }
  return { triggerDisplay: options.triggerDisplay === true, createForm: form ? { schema: form.schema!, uiSchema: form.uiSchema ?? {} } : null };
}

const SEARCH_DEBOUNCE_MS = 250;

function widgetOf(schema: CardFieldSchema, ui: Record<string, unknown>): Widget {
  const asked = ui["ui:widget"];
  if (asked === "hidden") return "hidden";
  if (asked === "autocomplete" || ui["ui:field"] === "autocomplete" || schema.format === "autocomplete") return "autocomplete";
  if (Array.isArray(schema.enum)) return "select";
  if (schema.type === "boolean") return "checkbox";
  if (schema.type === "integer") return "integer";
  if (schema.type === "number") return "number";
  if (asked === "textarea") return "textarea";
  return "text";
}

export class CardForm {
  readonly element: HTMLFormElement;
  private readonly fields = new Map<string, Field>();
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(readonly schema: CardSchema, readonly uiSchema: CardUiSchema, private readonly hooks: CardHooks, values: CardValues = {}) {
    this.element = h("form", { class: "zorio-card-form", novalidate: true }) as HTMLFormElement;
    this.element.addEventListener("submit", (event) => event.preventDefault());
    const properties = schema.properties ?? {};
    const order = Array.isArray(uiSchema["ui:order"]) ? (uiSchema["ui:order"] as string[]).filter((k) => k in properties) : [];
    const keys = [...order, ...Object.keys(properties).filter((k) => !order.includes(k))];
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    for (const key of keys) this.addField(key, properties[key]!, required.has(key));
    for (const [key, value] of Object.entries(values)) this.setValue(key, value);
  }

  private addField(key: string, schema: CardFieldSchema, required: boolean): void {
    const ui = (this.uiSchema[key] ?? {}) as Record<string, unknown>;
    const widget = widgetOf(schema, ui);
    const id = `zorio-field-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const common = { id, name: key, "data-field": key, required, "aria-required": required ? "true" : undefined,
      placeholder: typeof ui["ui:placeholder"] === "string" ? ui["ui:placeholder"] : undefined };
    let input: Field["input"];
    if (widget === "textarea") input = h("textarea", { ...common, rows: 3 }) as HTMLTextAreaElement;
    else if (widget === "select") {
      input = h("select", common, h("option", { value: "" }, ""),
        ...(schema.enum ?? []).map((v, i) => h("option", { value: String(i) }, String(v)))) as HTMLSelectElement;
    } else if (widget === "checkbox") input = h("input", { ...common, type: "checkbox" }) as HTMLInputElement;
    else if (widget === "number" || widget === "integer") {
      input = h("input", { ...common, type: "number", step: widget === "integer" ? "1" : "any", inputmode: widget === "integer" ? "numeric" : "decimal",
        min: schema.minimum as number | undefined, max: schema.maximum as number | undefined }) as HTMLInputElement;
    } else input = h("input", { ...common, type: widget === "hidden" ? "hidden" : "text", autocomplete: "off",
      maxlength: schema.maxLength as number | undefined }) as HTMLInputElement;
    const error = h("div", { class: "zorio-card-error", role: "alert", hidden: true });
    const field: Field = { key, schema, widget, required, input, error };
    const onEdit = () => {
      error.hidden = true;
      this.hooks.edited();
      if (widget === "autocomplete") this.onAutocompleteInput(field);
    };
    input.addEventListener(widget === "checkbox" || widget === "select" ? "change" : "input", onEdit);
    this.fields.set(key, field);
    if (schema.default !== undefined) this.setValue(key, schema.default);
    if (widget === "hidden") {
      this.element.append(input);
      return;
    }
    const title = (typeof schema.title === "string" && schema.title) || key;
    const label = h("label", { for: id, class: "zorio-card-label" }, title, required ? h("span", { class: "zorio-card-req", "aria-hidden": "true" }, " *") : null);
    const help = typeof schema.description === "string" && schema.description ? h("small", {}, schema.description) : null;
    const row = h("div", { class: `zorio-card-field zorio-card-${widget}`, "data-field": key });
    if (widget === "checkbox") row.append(h("label", { class: "zorio-card-check" }, input, " ", title, required ? " *" : ""), help ?? "", error);
    else row.append(label, input, help ?? "", error);
    if (widget === "autocomplete") {
      const options = (field.options = autocompleteOptions(ui));
      field.listbox = h("ul", { class: "zorio-card-options", role: "listbox", id: `${id}-list`, hidden: true, "data-options-for": key });
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-expanded", "false");
      input.setAttribute("aria-controls", `${id}-list`);
      row.append(field.listbox);
      if (options.triggerDisplay) {
        field.view = h("button", { type: "button", class: "zorio-card-link", "data-view": key, hidden: true,
          onclick: () => field.chosen && this.hooks.display(key, field.chosen) }, this.hooks.t("card_view")) as HTMLButtonElement;
        row.append(field.view);
      }
      if (options.createForm) row.append(this.createButton(field, options.createForm));
    }
    this.element.append(row);
  }

  has(key: string): boolean {
    return this.fields.has(key);
  }

  setValue(key: string, value: unknown): void {
    const field = this.fields.get(key);
    if (!field) return;
    const input = field.input;
    if (field.widget === "checkbox") (input as HTMLInputElement).checked = value === true || value === "true";
    else if (field.widget === "select") {
      const index = (field.schema.enum ?? []).findIndex((v) => v === value || String(v) === String(value));
      input.value = index >= 0 ? String(index) : "";
    } else if (field.widget === "autocomplete" && value && typeof value === "object") {
      const option = value as { value?: unknown; label?: unknown };
      field.chosen = { value: option.value, label: String(option.label ?? option.value ?? "") };
      input.value = field.chosen.label;
      if (field.view) field.view.hidden = false;
    } else {
      field.chosen = null;
      input.value = value == null ? "" : String(value);
    }
  }

  /** Shows an autocomplete field's options (from the host's `onOptionsResults`). */
  setOptions(key: string, results: OptionResult[]): void {
    const field = this.fields.get(key);
    if (!field?.listbox) return;
    const options = results.map((r) => (typeof r === "object" && r ? { value: r.value, label: String(r.label ?? r.value) } : { value: r, label: String(r) }));
    field.listbox.replaceChildren(...options.map((option, i) => h("li", {
      role: "option", id: `${field.input.id}-opt-${i}`, "data-value": String(option.value), tabindex: "-1",
      onmousedown: (event: Event) => event.preventDefault(),
      onclick: () => this.choose(field, option),
    }, option.label)));
    field.listbox.hidden = options.length === 0;
    field.input.setAttribute("aria-expanded", String(options.length > 0));
  }

  private choose(field: Field, option: { value: unknown; label: string }): void {
    field.chosen = option;
    field.input.value = option.label;
    field.listbox!.hidden = true;
    field.input.setAttribute("aria-expanded", "false");
    field.error.hidden = true;
    if (field.view) field.view.hidden = false;
    this.hooks.edited();
    if (field.options?.triggerDisplay) this.hooks.display(field.key, option);
  }

  /** "New…": a small form of `createForm`'s schema; its values go to the host, which returns the created option. */
  private createButton(field: Field, form: { schema: CardSchema; uiSchema: CardUiSchema }): HTMLElement {
    const box = h("div", { class: "zorio-card-create", hidden: true, "data-create-for": field.key });
    const open = h("button", { type: "button", class: "zorio-card-link", "data-new": field.key, onclick: () => {
      const sub = new CardForm(form.schema, form.uiSchema, { ...this.hooks, edited: () => undefined });
      const done = async () => {
        const values = sub.values();
        if (!values) return;
        const option = await this.hooks.create(field.key, values);
        if (!option) return;
        box.hidden = true;
        box.replaceChildren();
        this.choose(field, option);
      };
      box.replaceChildren(sub.element, h("div", { class: "zorio-card-actions" },
        h("button", { type: "button", "data-create": field.key, onclick: () => void done() }, this.hooks.t("card_create")),
        h("button", { type: "button", onclick: () => { box.hidden = true; box.replaceChildren(); } }, this.hooks.t("card_cancel"))));
      box.hidden = false;
      box.querySelector<HTMLElement>("input,select,textarea")?.focus();
    } }, this.hooks.t("card_new"));
    return h("div", {}, open, box);
  }

  private onAutocompleteInput(field: Field): void {
    field.chosen = null;
    if (field.view) field.view.hidden = true;
    clearTimeout(this.timers.get(field.key));
    this.timers.set(field.key, setTimeout(() => this.hooks.search(field.key, field.input.value.trim()), SEARCH_DEBOUNCE_MS));
  }

  /** The card as JSON (empty optional fields left out), or null with the errors shown. */
  values(check = true): CardValues | null {
    const out: CardValues = {};
    let ok = true;
    for (const field of this.fields.values()) {
      const { value, error } = this.read(field);
      if (check && error) {
        ok = false;
        field.error.textContent = this.hooks.t(error);
        field.error.hidden = false;
      }
      if (value !== undefined) out[field.key] = value;
    }
    return ok ? out : null;
  }

  private read(field: Field): { value?: unknown; error?: string } {
    const input = field.input;
    const text = input.value.trim();
    const missing = { error: field.required ? "card_required" : undefined };
    switch (field.widget) {
      case "checkbox":
        return { value: (input as HTMLInputElement).checked };
      case "select": {
        if (text === "") return missing;
        return { value: (field.schema.enum ?? [])[Number(text)] };
      }
      case "number":
      case "integer": {
        if (text === "") return missing;
        const n = Number(text);
        if (!Number.isFinite(n) || (field.widget === "integer" && !Number.isInteger(n))) return { error: `card_not_${field.widget}` };
        return { value: n };
      }
      case "autocomplete":
        if (field.chosen) return { value: field.chosen.value };
        return text === "" ? missing : { value: text };
      default:
        return text === "" ? missing : { value: input.value };
    }
  }
}
