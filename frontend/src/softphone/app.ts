/**
 * The softphone page (`/softphone/`, inside the iframe of softphone.js): the full webphone UI
 * (fullscreen layout), the after-call card, and the iframe side of the bridge. Messages are taken
 * only from `window.parent` at an origin allowed for the tenant; everything this page posts goes to
 * that origin only. A session remembered in the tab is resumed only for the host origin and the
 * tenant it was remembered for (./session.ts), once that origin is proven.
 */
import "../index";
import type { Call } from "../call";
import type { Phone } from "../phone";
import type { CallApi, Locale, PhoneApi, ZorioWebphoneStatic } from "../public-api";
import { h } from "../ui/dom";
import { Appearance } from "./appearance";
import { BRIDGE_VERSION, type EventPayload, pack, type RequestType, unpack } from "./bridge";
import { CardDesk } from "./desk";
import { originMatches } from "./origins";
import type { SoftphoneCall, SoftphoneCallbacks } from "./public-api";
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

const config = JSON.parse(document.getElementById("zorio-softphone-config")?.textContent || "{}") as PageConfig;
const query = new URLSearchParams(location.search);
const locale: Locale = config.language === "vi" || config.language === "en" ? config.language : config.defaultLocale === "vi" ? "vi" : "en";
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

export function summary(call: CallApi): SoftphoneCall {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: call.id, uuid: call.uuid, direction: call.direction, state: call.state, number: call.number, name: call.name,
    startedAt: call.startedAt.toISOString(), answeredAt: iso(call.answeredAt), endedAt: iso(call.endedAt),
    endReason: call.endReason, muted: call.muted, onHold: call.onHold,
  };
}

/** The one way out of this page: to the parent, at the host origin only (never `*`). */
function toHost(message: ReturnType<typeof pack>): void {
  if (parentOrigin) window.parent.postMessage(message, parentOrigin);
}

/** Fires a host callback (an event message to the parent). */
function emit(name: keyof SoftphoneCallbacks, ...args: unknown[]): void {
  if (!parentOrigin) return;
  log("->", name, args);
  const payload: EventPayload = { name, args: JSON.parse(JSON.stringify(args)) as unknown[] };
  toHost(pack("event", `f${++seq}`, payload));
}

const desk = new CardDesk(document.getElementById("zorio-cards")!, appearance, {
  enabled: agentMode,
  wrapUpS,
  token: () => token,
  emit,
  summary,
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
  const element = mount.querySelector<HTMLElement>("zorio-phone");
  if (element) appearance.attach(element, internals.config.theme);
  applyAssets();
  watch(connected);
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

/** Wires the phone's events and its calls' actions to the host's callbacks. */
function watch(p: PhoneApi): void {
  const established = new WeakSet<CallApi>();
  const announced = new WeakSet<CallApi>();
  const wrapped = new WeakSet<CallApi>();
  p.on("incoming_call", ({ call }) => emit("onCallIncoming", summary(call)));
  p.on("call_answered", ({ call }) => {
    if (established.has(call)) return;
    established.add(call);
    emit("onCallEstablished", summary(call));
    desk.open(call);
  });
  p.on("call_hangup", ({ call, reason }) => {
    if (reason === "rejected" || reason === "busy") emit("onCallRejected", summary(call), reason);
    emit("onCallEnded", summary(call), desk.valuesOf(call), call.direction);
    desk.ended(call);
  });
  p.on("call_held", ({ call, by }) => emit("onCallHeld", summary(call), by));
  p.on("call_resumed", ({ call, by }) => emit("onCallResumed", summary(call), by));
  p.on("muted", ({ call }) => emit("onCallMuted", summary(call)));
  p.on("unmuted", ({ call }) => emit("onCallUnMuted", summary(call)));
  p.on("unregistered", ({ reason }) => {
    if (phone === p && reason !== "disconnect") emit("onLoggedOut", { reason });
  });
  // Every call change reaches the view: wrap its update to see new calls and wrap their actions.
  const view = (p as unknown as Phone).view;
  if (!view) return;
  const update = view.update.bind(view);
  view.update = () => {
    update();
    for (const call of p.calls) {
      if (!wrapped.has(call)) {
        wrapped.add(call);
        instrument(call as Call);
      }
      if (call.direction === "outgoing" && call.id && !announced.has(call)) {
        announced.add(call);
        emit("onOutgoingCallMade", summary(call));
      }
    }
  };
}

/** Reports the agent's actions on a call (answer, DTMF, blind transfer) once they succeed. */
function instrument(call: Call): void {
  const { answer, sendDtmf, transfer } = call;
  call.answer = async () => {
    emit("onCallLocallyAnswered", summary(call));
    return answer.call(call);
  };
  call.sendDtmf = async (digits: string) => {
    await sendDtmf.call(call, digits);
    emit("onDtmfSent", summary(call), digits);
  };
  call.transfer = async (target: string) => {
    await transfer.call(call, target);
    emit("onDirectTransfer", summary(call), target);
  };
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
  },
  schema: (p) => desk.setSchema(p.schema as never, (p.uiSchema ?? {}) as never),
  "card.value": (p) => desk.setValue(String(p.field ?? ""), p.value),
  "options.results": (p) => desk.setOptions(String(p.fieldId ?? ""), Array.isArray(p.results) ? p.results : []),
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
  toHost(pack("ready", "r0", { version: BRIDGE_VERSION }));
  if (hostProven) resume();
}
