/**
 * Entry of webphone.js: defines `window.ZorioWebphone` once (never overwrites an existing one).
 */
import { trimBase } from "./config";
import { runDiagnose } from "./diagnose";
import { ZorioWebphoneError } from "./errors";
import { cleanNumber } from "./numbers";
import { Phone } from "./phone";
import type { ConnectOptions, DiagnoseOptions, Layout, Locale, PhoneApi, ThemeMode, ZorioWebphoneStatic } from "./public-api";
import { defineElement, TAG, type ZorioPhoneElement } from "./ui/element";

declare const __VERSION__: string;

/** The script's own URL, read while it runs: the default apiBase and the shipped ringtone. */
const SCRIPT_SRC = (document.currentScript as HTMLScriptElement | null)?.src ?? "";

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
  try {
    await phone.bootstrap();
    if (opts.mount) mount(phone, opts);
  } catch (err) {
    // Whatever failed, also after registering (e.g. the mount): nothing stays open.
    const error = err instanceof ZorioWebphoneError ? err : new ZorioWebphoneError("bootstrap_failed", { cause: String(err) });
    await phone.disconnect().catch(() => undefined);
    opts.onError?.(error);
    throw error;
  }
  return phone;
}

function mount(phone: Phone, opts: ConnectOptions): void {
  const host = typeof opts.mount === "string" ? document.querySelector(opts.mount) : opts.mount;
  if (!host) throw new ZorioWebphoneError("bootstrap_failed", { stage: "mount", mount: String(opts.mount) });
  defineElement();
  const element = document.createElement(TAG) as ZorioPhoneElement;
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
  diagnose: (options: DiagnoseOptions = {}) => runDiagnose({ ...options, apiBase: trimBase(options.apiBase || defaultApiBase()) }),
  cleanNumber,
  ZorioWebphoneError,
};

const globalScope = window as unknown as { ZorioWebphone?: ZorioWebphoneStatic };
if (!globalScope.ZorioWebphone) {
  Object.defineProperty(window, "ZorioWebphone", { value: Object.freeze(api), enumerable: true, configurable: false, writable: false });
}
