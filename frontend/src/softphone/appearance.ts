/**
 * Appearance inside the iframe: the admin theme (sip-config) is the default, `customizeAppearance`
 * overrides win; `injectCss` sheets. Style sheets are adopted by both the page and the
 * `<zorio-phone>` shadow root (adopted sheets survive the element's re-renders).
 */
import type { ThemeConfig } from "../config";
import { fitTextColours } from "../ui/contrast";
import { MESSAGES } from "../ui/i18n";
import type { Locale } from "../public-api";
import type { SoftphoneAssets, SoftphoneTheme, SoftphoneTranslations } from "./public-api";

/** Theme colour -> CSS variable of the phone UI (and of the card, which uses the same names). */
const COLOR_VARS: [keyof SoftphoneTheme, keyof ThemeConfig, string][] = [
  ["primaryColor", "primary_color", "--zorio-primary"],
  ["accentColor", "accent_color", "--zorio-accent"],
  ["dangerColor", "danger_color", "--zorio-danger"],
  ["backgroundColor", "background_color", "--zorio-tenant-bg"],
  ["textColor", "text_color", "--zorio-tenant-text"],
];
const SAFE_VALUE = /^[^;{}<>]*$/;
/** Seed 004's `{colors: {...}}` names -> ours. */
const SEED_COLORS: Record<string, keyof SoftphoneTheme> = {
  primary: "primaryColor", button: "primaryColor", secondary: "accentColor", accent: "accentColor", success: "accentColor",
  error: "dangerColor", danger: "dangerColor", background: "backgroundColor", text: "textColor",
};
const SEED_METRICS: Record<string, keyof SoftphoneTheme> = { borderRadius: "borderRadius", fontSize: "fontSize", fontFamily: "fontFamily" };
const FLAT_KEYS: readonly string[] = [
  "mode", "primaryColor", "accentColor", "dangerColor", "backgroundColor", "textColor", "fontFamily", "fontSize", "borderRadius",
];

/** A refused appearance: the names that cannot be applied (nothing else is applied either). */
function refuse(message: string): Error {
  return Object.assign(new Error(message), { code: "bad_request" });
}

/**
 * The theme in our flat keys, from ours and/or the seed's `{colors, metrics}`; a number metric is
 * pixels. Unknown keys are refused, not ignored.
 */
export function flatTheme(theme: SoftphoneTheme): SoftphoneTheme {
  const out: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(theme)) {
    if (key === "colors" || key === "metrics") continue;
    if (FLAT_KEYS.includes(key)) out[key] = value;
    else unknown.push(key);
  }
  const group = (name: "colors" | "metrics", table: Record<string, keyof SoftphoneTheme>) => {
    const values = theme[name];
    if (values == null) return;
    if (typeof values !== "object") throw refuse(`'${name}' must be an object.`);
    for (const [key, value] of Object.entries(values)) {
      const target = table[key];
      if (!target) unknown.push(`${name}.${key}`);
      else if (value != null) out[target] = typeof value === "number" ? `${value}px` : value;
    }
  };
  group("colors", SEED_COLORS);
  group("metrics", SEED_METRICS);
  if (unknown.length) throw refuse(`Unknown appearance keys: ${unknown.join(", ")}.`);
  for (const [key, value] of Object.entries(out)) {
    if (key !== "mode" && (typeof value !== "string" || !SAFE_VALUE.test(value))) throw refuse(`'${key}' must be a CSS value.`);
  }
  if (out.mode !== undefined && !["light", "dark", "auto"].includes(String(out.mode))) throw refuse("'mode' must be light, dark or auto.");
  return out as SoftphoneTheme;
}

export const CARD_MESSAGES: Record<Locale, Record<string, string>> = {
  en: {
    card_title: "Call notes", card_save: "Save", card_cancel: "Cancel", card_saving: "Saving…",
    card_required: "Required.", card_not_number: "Enter a number.", card_not_integer: "Enter a whole number.",
    card_closes_in: "Closes in {s} s", card_save_failed: "The card could not be saved.",
    card_not_allowed: "This page is not embedded by an allowed site.", card_login_needed: "Waiting for sign-in…",
    card_saved: "Saved.", card_view: "View", card_new: "New…", card_create: "Create", card_panel: "After-call work",
    agent_login: "Log in", agent_logout: "Log out", agent_pause: "Pause", agent_resume: "Ready",
    agent_state_logged_out: "Logged out", agent_state_ready: "Ready", agent_state_paused: "Paused",
    agent_language: "Language", agent_lang_en: "English", agent_lang_vi: "Tiếng Việt", agent_no_queue: "no queue on this server",
  },
  vi: {
    card_title: "Ghi chú cuộc gọi", card_save: "Lưu", card_cancel: "Hủy", card_saving: "Đang lưu…",
    card_required: "Bắt buộc.", card_not_number: "Hãy nhập một số.", card_not_integer: "Hãy nhập số nguyên.",
    card_closes_in: "Đóng sau {s} giây", card_save_failed: "Không lưu được phiếu.",
    card_not_allowed: "Trang này không được nhúng bởi trang web được phép.", card_login_needed: "Đang chờ đăng nhập…",
    card_saved: "Đã lưu.", card_view: "Xem", card_new: "Tạo mới…", card_create: "Tạo", card_panel: "Xử lý sau cuộc gọi",
    agent_login: "Đăng nhập", agent_logout: "Đăng xuất", agent_pause: "Tạm nghỉ", agent_resume: "Sẵn sàng",
    agent_state_logged_out: "Chưa đăng nhập", agent_state_ready: "Sẵn sàng", agent_state_paused: "Tạm nghỉ",
    agent_language: "Ngôn ngữ", agent_lang_en: "English", agent_lang_vi: "Tiếng Việt", agent_no_queue: "máy chủ chưa có hàng đợi",
  },
};

export class Appearance {
  theme: SoftphoneTheme = {};
  assets: SoftphoneAssets = {};
  private readonly metrics = new CSSStyleSheet();
  private readonly injected: CSSStyleSheet[] = [];
  private element: HTMLElement | null = null;

  constructor(public locale: Locale) {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.metrics];
  }

  t = (key: string): string =>
    CARD_MESSAGES[this.locale]?.[key] ?? CARD_MESSAGES.en[key] ?? (MESSAGES[this.locale] as Record<string, string>)[key] ?? key;

  /** The phone UI was mounted: admin theme first, then the overrides and sheets. */
  attach(element: HTMLElement, admin: ThemeConfig | null): void {
    this.element = element;
    const root = document.documentElement.style;
    for (const [, adminKey, cssVar] of COLOR_VARS) {
      const value = admin?.[adminKey];
      if (typeof value === "string" && value) root.setProperty(cssVar, value);
    }
    if (element.shadowRoot) element.shadowRoot.adoptedStyleSheets = [...element.shadowRoot.adoptedStyleSheets, this.metrics, ...this.injected];
    this.applyTheme();
  }

  detach(): void {
    this.element = null;
  }

  injectCss(css: string): void {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    this.injected.push(sheet);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    const shadow = this.element?.shadowRoot;
    if (shadow) shadow.adoptedStyleSheets = [...shadow.adoptedStyleSheets, sheet];
  }

  customize(theme: SoftphoneTheme | null, translations: SoftphoneTranslations | null, assets: SoftphoneAssets | null): void {
    if (theme) this.theme = { ...this.theme, ...flatTheme(theme) };
    if (assets) this.assets = { ...this.assets, ...assets };
    if (translations) this.translate(translations);
    this.applyTheme();
  }

  private translate(translations: SoftphoneTranslations): void {
    for (const [key, value] of Object.entries(translations)) {
      if (value && typeof value === "object" && (key === "en" || key === "vi")) {
        for (const [k, text] of Object.entries(value)) this.setMessage(key, k, text);
      } else if (typeof value === "string") this.setMessage(this.locale, key, value);
    }
  }

  private setMessage(locale: Locale, key: string, text: unknown): void {
    if (typeof text !== "string") return;
    if (key.startsWith("card_")) CARD_MESSAGES[locale]![key] = text;
    else if (key in MESSAGES[locale]) (MESSAGES[locale] as Record<string, string>)[key] = text;
  }

  /** Colours as CSS variables on the phone element (inline: wins over the admin theme) and the page. */
  private applyTheme(): void {
    const targets = [document.documentElement, this.element].filter((e): e is HTMLElement => !!e);
    for (const [key, , cssVar] of COLOR_VARS) {
      const value = this.theme[key];
      if (typeof value === "string" && value && SAFE_VALUE.test(value)) for (const el of targets) el.style.setProperty(cssVar, value);
    }
    const rules: string[] = [];
    const font = [this.theme.fontFamily && `font-family:${this.theme.fontFamily}`, this.theme.fontSize && `font-size:${this.theme.fontSize}`]
      .filter((d): d is string => !!d && SAFE_VALUE.test(d));
    if (font.length) rules.push(`:host,body{${font.join(";")}}`);
    if (this.theme.borderRadius && SAFE_VALUE.test(this.theme.borderRadius)) {
      rules.push(`button,input,select,textarea,.zorio-call,.zorio-card{border-radius:${this.theme.borderRadius}!important}`);
    }
    this.metrics.replaceSync(rules.join("\n"));
    (this.element as { fitColours?: () => void } | null)?.fitColours?.();
    if (document.body) fitTextColours(document.documentElement, document.body);
  }
}
