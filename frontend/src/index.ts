/**
 * Entry of webphone.js: defines `window.ZorioWebphone` once (never overwrites an existing one). The UI
 * and the connection check come in their own files, on first use (chunks.ts).
 */
import { diagnose, loadChunk, SCRIPT_SRC } from "./chunks";
import { trimBase } from "./config";
import { ZorioWebphoneError } from "./errors";
import { cleanNumber } from "./numbers";
import { Phone } from "./phone";
import type { ConnectOptions, DiagnoseOptions, Layout, Locale, PhoneApi, ThemeMode, ZorioWebphoneStatic } from "./public-api";
import type { ZorioPhoneElement } from "./ui/element";

declare const __VERSION__: string;

const TAG = "zorio-phone";

type UiClass = typeof ZorioPhoneElement;
let uiLoading: Promise<UiClass> | null = null;

/**
 * The widget UI (webphone-ui.js): loaded once, and only for `connect({mount})`; a page that bundles
 * it (the softphone) has it defined already.
 */
function loadUi(apiBase: string): Promise<UiClass> {
  const defined = customElements.get(TAG) as unknown as UiClass | undefined;
  if (defined) return Promise.resolve(defined);
  uiLoading ??= loadChunk("webphone-ui.js", apiBase, customElements.whenDefined(TAG).then(() => customElements.get(TAG) as unknown as UiClass));
  uiLoading.catch(() => { uiLoading = null; });
  return uiLoading;
}

function defaultApiBase(): string {
  try {
    return new URL(SCRIPT_SRC).origin;
  } catch {
    return location.origin;
  }
}

function pick<T extends string>(allowed: readonly T[], ...values: unknown[]): T {
  return (values.find((v) => allowed.includes(v as T)) as T | undefined) ?? allowed[0]!;
}

async function connect(options: ConnectOptions): Promise<PhoneApi> {
  const opts = { ...options };
  const apiBase = trimBase(opts.apiBase || defaultApiBase());
  const ringtone = opts.ringtoneUrl || (SCRIPT_SRC ? new URL("../sounds/ringtone.wav", SCRIPT_SRC).href : `${apiBase}/static/sounds/ringtone.wav`);
  const phone = new Phone(opts, apiBase, ringtone);
  const ui = opts.mount ? loadUi(apiBase) : null;
  ui?.catch(() => undefined); // awaited below
  try {
    await phone.bootstrap();
    if (ui) mount(phone, opts, await ui);
  } catch (err) {
    // Whatever failed, also after registering (e.g. the mount): nothing stays open.
    const error = err instanceof ZorioWebphoneError ? err : new ZorioWebphoneError("bootstrap_failed", { cause: String(err) });
    await phone.disconnect().catch(() => undefined);
    const host = typeof opts.mount === "string" ? document.querySelector(opts.mount) : opts.mount;
    const Ui = host && (await ui?.catch(() => null));
    if (host && Ui) Ui.showFailure(host, error, pick<Locale>(["en", "vi"], opts.locale, /^vi\b/i.test(navigator.language) ? "vi" : undefined));
    opts.onError?.(error);
    throw error;
  }
  return phone;
}

function mount(phone: Phone, opts: ConnectOptions, Ui: UiClass): void {
  const host = typeof opts.mount === "string" ? document.querySelector(opts.mount) : opts.mount;
  if (!host) throw new ZorioWebphoneError("bootstrap_failed", { stage: "mount", mount: String(opts.mount) });
  const element = new Ui();
  host.append(element);
  const theme = phone.config.theme;
  const browserVi = /^vi\b/i.test(navigator.language) ? "vi" : undefined;
  phone.view = element.bind(phone, {
    layout: pick<Layout>(["docked", "overlay", "fullscreen"], opts.layout, theme?.layout),
    theme: pick<ThemeMode>(["auto", "light", "dark"], opts.theme, theme?.mode),
    locale: pick<Locale>(["en", "vi"], opts.locale, theme?.locale, phone.config.locale, browserVi),
  }, theme);
}

const api: ZorioWebphoneStatic = {
  version: __VERSION__,
  connect,
  diagnose: (options: DiagnoseOptions = {}) => diagnose({ ...options, apiBase: trimBase(options.apiBase || defaultApiBase()) }),
  cleanNumber,
  ZorioWebphoneError,
};

const globalScope = window as unknown as { ZorioWebphone?: ZorioWebphoneStatic };
if (!globalScope.ZorioWebphone) {
  Object.defineProperty(window, "ZorioWebphone", { value: Object.freeze(api), enumerable: true, configurable: false, writable: false });
}
