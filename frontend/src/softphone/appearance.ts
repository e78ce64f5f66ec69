/**
 * Appearance inside the iframe: the admin theme (sip-config) is the default, `customizeAppearance`
 * overrides win; `injectCss` sheets. Style sheets are adopted by both the page and the
 * `<zorio-phone>` shadow root (adopted sheets survive the element's re-renders).
 */
import type { ThemeConfig } from "../config";
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
/** The phone panel makes room for the card area (the page toggles `zorio-with-card` on the element). */
const LAYOUT_CSS = `:host(.zorio-with-card) .zorio-panel{bottom:50%}
@media (min-width:720px){:host(.zorio-with-card) .zorio-panel{bottom:0;right:50%}}`;

export const CARD_MESSAGES: Record<Locale, Record<string, string>> = {
  en: {
    card_title: "Call notes", card_save: "Save", card_cancel: "Cancel", card_saving: "Saving…",
    card_required: "Required.", card_not_number: "Enter a number.", card_not_integer: "Enter a whole number.",
    card_closes_in: "Closes in {s} s", card_save_failed: "The card could not be saved.",
    card_not_allowed: "This page is not embedded by an allowed site.", card_login_needed: "Waiting for sign-in…",
  },
  vi: {
    card_title: "Ghi chú cuộc gọi", card_save: "Lưu", card_cancel: "Hủy", card_saving: "Đang lưu…",
    card_required: "Bắt buộc.", card_not_number: "Hãy nhập một số.", card_not_integer: "Hãy nhập số nguyên.",
    card_closes_in: "Đóng sau {s} giây", card_save_failed: "Không lưu được phiếu.",
    card_not_allowed: "Trang này không được nhúng bởi trang web được phép.", card_login_needed: "Đang chờ đăng nhập…",
  },
};

export class Appearance {
  theme: SoftphoneTheme = {};
  assets: SoftphoneAssets = {};
  private readonly metrics = new CSSStyleSheet();
  private readonly layout = new CSSStyleSheet();
  private readonly injected: CSSStyleSheet[] = [];
  private element: HTMLElement | null = null;

  constructor(public locale: Locale) {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.metrics];
    this.layout.replaceSync(LAYOUT_CSS);
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
    if (element.shadowRoot) element.shadowRoot.adoptedStyleSheets = [...element.shadowRoot.adoptedStyleSheets, this.layout, this.metrics, ...this.injected];
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
    if (theme) this.theme = { ...this.theme, ...theme };
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
  }
}
