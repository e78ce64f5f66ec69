/**
 * The softphone page (`/softphone/`, inside the iframe of softphone.js): the full webphone UI
 * (fullscreen layout), the after-call card, and the iframe side of the bridge. Messages are taken
 * only from `window.parent` at an origin allowed for the tenant; everything this page posts goes to
 * that origin only. A session remembered in the tab is resumed only for the host origin and the
 * tenant it was remembered for (./session.ts), once that origin is proven.
 */
import "../index";
import "../ui/index"; // the phone UI is part of this page, not loaded by webphone.js
import type { Phone } from "../phone";
import type { Locale, PhoneApi, ZorioWebphoneStatic } from "../public-api";
import { h } from "../ui/dom";
import type { Contact } from "../ui/directory";
import type { ZorioPhoneElement } from "../ui/element";
import { AgentTab } from "./agent";
import { Appearance } from "./appearance";
import { BRIDGE_VERSION, type EventPayload, pack, type RequestType, unpack } from "./bridge";
import { summary, watch } from "./calls";
import { CardDesk } from "./desk";
import { WorkerNotices } from "./notices";
import { originMatches } from "./origins";
import { adoptPageStyles } from "./page-styles";
import type { SoftphoneCallbacks, SoftphoneContact } from "./public-api";
import { SessionMemory } from "./session";

interface PageConfig {
  origins: string[];
  tenant: string;
  token: string;
  language: string;
  debug: boolean;
  autoLogin: boolean;
  wrapUpDuration: number | null;
  defaultLocale: string;
}

const DEFAULT_WRAP_UP_S = 30;
/** How long a callback's result (`onWazoContactSearch`, `onCreateOption`) is waited for. */
const RESULT_WAIT_MS = 3000;

adoptPageStyles();
const config = JSON.parse(document.getElementById("zorio-softphone-config")?.textContent || "{}") as PageConfig;
const query = new URLSearchParams(location.search);
let locale: Locale = config.language === "vi" || config.language === "en" ? config.language : config.defaultLocale === "vi" ? "vi" : "en";
const wrapUpS = config.wrapUpDuration ?? DEFAULT_WRAP_UP_S;
const agentMode = query.get("agent") !== "0";

const ancestors = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;

/** The host page's origin: the browser's ancestor list when it has one, else what the loader said. */
function hostOrigin(): string {
  const claimed = ancestors?.length ? ancestors[0]! : query.get("origin") || "";
  return window.parent !== window && originMatches(claimed, config.origins) ? claimed : "";
}

const parentOrigin = hostOrigin();
/**
 * Whether the host page is known to be at `parentOrigin`: the browser's ancestor list says so, or
 * the parent sent a message from there. Until then the origin is only what the loader claimed.
 */
let hostProven = !!ancestors?.length;
const memory = new SessionMemory(parentOrigin);
const appearance = new Appearance(locale);
let phone: PhoneApi | null = null;
let token = "";
/** The tenant of the session the tab remembers (renewed tokens replace its token). */
let remembered = "";
let seq = 0;
const ignored: string[] = [];
if (config.debug) (window as unknown as { zorioIgnored: string[] }).zorioIgnored = ignored;

function log(...args: unknown[]): void {
  if (config.debug) console.debug("[zorio-softphone]", ...args);
}

/** The one way out of this page: to the parent, at the host origin only (never `*`). */
function toHost(message: ReturnType<typeof pack>): void {
  if (parentOrigin) window.parent.postMessage(message, parentOrigin);
}

/** Fires a host callback (an event message to the parent). */
function emit(name: keyof SoftphoneCallbacks, ...args: unknown[]): void {
  send(name, args, false);
}

/** Callbacks whose result the page waits for, by event id. */
const waiting = new Map<string, (result: unknown) => void>();

/** Fires a host callback and resolves with what it returned (null without an answer in time). */
function ask(name: keyof SoftphoneCallbacks, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve) => {
    const id = send(name, args, true);
    if (!id) return resolve(null);
    const timer = setTimeout(() => { waiting.delete(id); resolve(null); }, RESULT_WAIT_MS);
    waiting.set(id, (result) => { clearTimeout(timer); waiting.delete(id); resolve(result); });
  });
}

function send(name: keyof SoftphoneCallbacks, args: unknown[], wantsResult: boolean): string {
  if (!parentOrigin) return "";
  log("->", name, args);
  const id = `f${++seq}`;
  const payload: EventPayload = { name, args: JSON.parse(JSON.stringify(args)) as unknown[], ...(wantsResult ? { wantsResult } : {}) };
  toHost(pack("event", id, payload));
  return id;
}

const desk = new CardDesk(document.getElementById("zorio-cards")!, appearance, {
  enabled: agentMode,
  wrapUpS,
  token: () => token,
  emit,
  ask,
  summary,
});

/** The language of the page, the phone, the card and the bar; the host hears of the agent's choice. */
function setLocale(next: Locale, byAgent: boolean): void {
  if (next === locale) return;
  locale = next;
  appearance.locale = next;
  document.documentElement.lang = next;
  phone?.setAppearance({ locale: next });
  desk.render();
  agent.render();
  if (byAgent) emit("onLanguageChanged", next);
}

const agent = new AgentTab(document.getElementById("zorio-agent")!, agentMode, {
  t: appearance.t,
  emit,
  locale: () => locale,
  setLocale: (next) => setLocale(next, true),
  apply: async (state) => (phone ? phone.setAgentState(state) : null),
});

/** The host's contacts for a search of the transfer directory (`onWazoContactSearch`). */
async function hostContacts(query: string): Promise<Contact[]> {
  const result = await ask("onWazoContactSearch", query);
  if (!Array.isArray(result)) return [];
  return (result as SoftphoneContact[])
    .filter((c) => c && typeof c.number === "string" && c.number)
    .map((c) => ({ number: c.number, name: typeof c.name === "string" ? c.name : "", presence: c.presence }));
}

const phoneView = (): ZorioPhoneElement | null => document.querySelector<ZorioPhoneElement>("#zorio-phone zorio-phone");

/** Ringing calls' notifications with Answer and Decline, through the page's service worker. */
const notices = new WorkerNotices({
  calls: () => ((phone as unknown as Phone | null)?.calls ?? []),
  t: (key) => phoneView()?.t(key) ?? appearance.t(key), // the phone's words, the host's translations included
  act: (call, action) => {
    const view = phoneView();
    if (!view) return;
    if (action === "answer") view.act(() => call.answer(), `hangup-${call.id}`)();
    else if (action === "decline") view.act(() => call.reject())();
    else view.reveal(call);
  },
  host: (tag, notice) => toHost(pack("notice", tag, notice)),
  log,
});

// -- the phone --------------------------------------------------------------------------------

/** Logs in with `newToken`; `tenant`, when given, is the only tenant the token may resolve to. */
async function login(newToken: string, refreshToken: string | null, tenant = config.tenant): Promise<Record<string, unknown>> {
  if (phone) await logout("relogin");
  const api = (window as unknown as { ZorioWebphone: ZorioWebphoneStatic }).ZorioWebphone;
  const mount = document.getElementById("zorio-phone")!;
  mount.replaceChildren();
  const connected = await api.connect({
    apiBase: location.origin,
    token: newToken,
    // The SDK renews the session through POST /api/webphone/tokens/refresh before each expiry.
    refreshToken: refreshToken ?? undefined,
    mount,
    layout: "fullscreen",
    locale,
    theme: appearance.theme.mode,
    wrapUpSeconds: wrapUpS,
    ringtoneUrl: appearance.assets.ringtoneUrl,
    debug: config.debug,
  });
  phone = connected;
  token = newToken;
  if (config.debug) (window as unknown as { zorioPhone?: PhoneApi }).zorioPhone = connected; // tests and support
  const internals = connected as unknown as Phone;
  internals.tokens.onRenewed = (renewed, nextRefresh) => {
    token = renewed; // the card desk saves with it
    if (config.autoLogin && remembered) memory.remember(remembered, renewed, nextRefresh);
  };
  const element = phoneView();
  if (element) {
    element.setAttribute("embedded", ""); // it fills the page's grid cell, beside the card panel
    // One wrap-up flow: the after-call card is it; the phone's own "Done" card only without one.
    element.hostWrapsUp = (call) => desk.has(call);
    element.notifier = notices;
    appearance.attach(element, internals.config.theme);
  }
  internals.contactSources.push(hostContacts);
  applyAssets();
  watch(connected, { emit, desk, token: () => token, current: (p) => phone === p });
  connected.on("agent_state", (event) => agent.fromServer(event));
  agent.attach(connected.extension);
  const info = { extension: connected.extension, user: connected.user, tenant: internals.config.tenant?.slug ?? "" };
  if (tenant && info.tenant !== tenant) {
    await logout("forbidden");
    throw Object.assign(new Error("The token belongs to another tenant."), { code: "forbidden" });
  }
  remembered = info.tenant;
  if (config.autoLogin) memory.remember(info.tenant, newToken, refreshToken ?? undefined);
  emit("onAuthenticated", info);
  document.body.dataset.status = "registered";
  return info;
}

async function logout(reason: string): Promise<void> {
  const current = phone;
  phone = null;
  remembered = "";
  if (!current) return;
  memory.forget();
  appearance.detach();
  agent.attach("");
  await current.disconnect().catch(() => undefined);
  document.body.dataset.status = "logged_out";
  emit("onLoggedOut", { reason });
}

function applyAssets(): void {
  const internals = phone as unknown as Phone | null;
  if (!internals?.config || !appearance.assets.logoUrl) return;
  internals.config.theme = { ...(internals.config.theme ?? {}), logo_url: appearance.assets.logoUrl };
  internals.setAppearance({});
}

// -- the bridge -----------------------------------------------------------------------------

type Handler = (payload: Record<string, unknown>) => Promise<unknown> | unknown;

/** Host requests, by type (an explicit map: never a lookup of the message's text). */
const HANDLERS: Record<RequestType, Handler> = {
  hello: () => ({ version: BRIDGE_VERSION }),
  login: (p) => login(String(p.token ?? ""), typeof p.refreshToken === "string" && p.refreshToken ? p.refreshToken : null),
  logout: () => logout("logout"),
  call: async (p) => {
    if (!phone) throw Object.assign(new Error("Log in first."), { code: "not_bootstrapped" });
    const call = await phone.call(String(p.number ?? ""));
    return summary(call);
  },
  css: (p) => appearance.injectCss(String(p.css ?? "")),
  appearance: (p) => {
    appearance.customize(p.theme as never, p.translations as never, p.assets as never);
    if (phone) {
      const mode = appearance.theme.mode;
      phone.setAppearance(mode === "light" || mode === "dark" || mode === "auto" ? { theme: mode } : {});
      applyAssets();
    }
    desk.render();
    agent.render();
  },
  schema: (p) => desk.setSchema(p.schema as never, (p.uiSchema ?? {}) as never),
  "card.value": (p) => desk.setValue(String(p.field ?? ""), p.value),
  "options.results": (p) => desk.setOptions(String(p.fieldId ?? ""), Array.isArray(p.results) ? p.results : []),
  "event.result": (p) => waiting.get(String(p.event ?? ""))?.(p.result),
};

addEventListener("message", (event: MessageEvent) => {
  if (!parentOrigin || event.source !== window.parent || event.origin !== parentOrigin) {
    if (config.debug && unpack(event.data)) ignored.push(event.origin); // visible to tests and support
    return;
  }
  const env = unpack(event.data);
  if (!env || !(env.type in HANDLERS)) return;
  if (!hostProven) {
    hostProven = true; // the browser says this message came from the parent, at parentOrigin
    if (env.type !== "login") resume();
  }
  const handler = HANDLERS[env.type as RequestType];
  log("<-", env.type, env.payload);
  Promise.resolve()
    .then(() => handler((env.payload ?? {}) as Record<string, unknown>))
    .then(
      (result) => ({ ok: true, result: result ?? null }),
      (err: { code?: string; message?: string }) => ({ ok: false, error: { code: err?.code ?? "failed", message: err?.message ?? String(err) } }),
    )
    .then((reply) => toHost(pack("reply", env.id, reply)));
});

// -- start ----------------------------------------------------------------------------------

let resumed = false;

/** Logs in by itself, once: with the page's `?token=`, else the session remembered for this host and tenant. */
function resume(): void {
  if (resumed || !config.autoLogin) return;
  resumed = true;
  const session = config.token ? null : memory.recall(config.tenant);
  const known = config.token || session?.token;
  if (!known) return;
  login(known, session?.refreshToken ?? null, session?.tenant ?? config.tenant).catch((err: { code?: string }) => {
    memory.forget();
    emit("onLoggedOut", { reason: err?.code ?? "bootstrap_failed" });
  });
}

document.documentElement.lang = locale;
if (!parentOrigin) {
  document.body.dataset.status = "not_allowed";
  document.getElementById("zorio-phone")!.replaceChildren(h("p", { class: "zorio-softphone-note" }, appearance.t("card_not_allowed")));
} else {
  document.body.dataset.status = "ready";
  notices.start();
  toHost(pack("ready", "r0", { version: BRIDGE_VERSION }));
  if (hostProven) resume();
}
