/**
 * Preflight checks: secure context, microphone, sip-config, WebSocket (auth -> registered),
 * a STUN server-reflexive candidate and, when TURN is configured, a relay candidate.
 */
import type { SipConfig } from "./config";
import { browserMedia, stopStream } from "./media";
import type { DiagnoseCheck, DiagnoseOptions, DiagnoseResult, MediaLayer } from "./public-api";
import { CHECK_NAMES } from "./checks-names";

export const WS_CHECK_TIMEOUT_MS = 6000;
export const ICE_CHECK_TIMEOUT_MS = 6000;

const check = (status: DiagnoseCheck["status"], detail: string): DiagnoseCheck =>
  ({ status, ok: status === "ok", skipped: status === "skipped", detail });
const pass = (detail: string) => check("ok", detail);
const fail = (detail: string) => check("fail", detail);
/** A check that did not run: never counted as passed. */
const skip = (detail: string) => check("skipped", detail);


function urlsOf(servers: RTCIceServer[], scheme: RegExp): RTCIceServer[] {
  return servers
    .map((s) => ({ ...s, urls: ([] as string[]).concat(s.urls).filter((u) => scheme.test(u)) }))
    .filter((s) => s.urls.length > 0);
}

async function checkMicrophone(media: MediaLayer): Promise<DiagnoseCheck> {
  let permission = "";
  try {
    permission = (await navigator.permissions.query({ name: "microphone" as PermissionName })).state;
  } catch { /* Firefox and Safari may not know the name */ }
  if (permission === "denied") return fail("blocked by the browser (permission denied): allow the microphone for this site");
  try {
    const stream = await media.getUserMedia({ audio: true, video: false });
    const label = stream.getAudioTracks()[0]?.label || "microphone";
    stopStream(stream);
    return pass(`granted: ${label}`);
  } catch (err) {
    return fail(`${(err as Error).name || "error"}: ${(err as Error).message || String(err)}`);
  }
}

function checkWebSocket(url: string, token: string, Impl: new (url: string) => WebSocket): Promise<DiagnoseCheck> {
  return new Promise((resolve) => {
    let socket: WebSocket;
    const started = performance.now();
    const finish = (check: DiagnoseCheck) => {
      clearTimeout(timer);
      try { socket.close(1000); } catch { /* closed */ }
      resolve(check);
    };
    const timer = setTimeout(() => finish(fail(`no answer from ${url} in ${WS_CHECK_TIMEOUT_MS} ms`)), WS_CHECK_TIMEOUT_MS);
    try {
      socket = new Impl(url);
    } catch (err) {
      clearTimeout(timer);
      resolve(fail(String(err)));
      return;
    }
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", token })));
    socket.addEventListener("message", (event: MessageEvent) => {
      let frame: { type?: string; code?: string } = {};
      try { frame = JSON.parse(String(event.data)); } catch { /* ignored */ }
      if (frame.type === "registered") finish(pass(`registered in ${Math.round(performance.now() - started)} ms`));
      else if (frame.type === "error") finish(fail(`server refused: ${frame.code}`));
    });
    socket.addEventListener("close", (event: CloseEvent) => finish(fail(`closed (code ${event.code})`)));
  });
}

/**
 * Gathers candidates against `servers`; ok when one of type `wanted` appears.
 * Chrome drops a srflx candidate whose address equals a host candidate's (no NAT in between), so a
 * gathering that completes without srflx and without an `icecandidateerror` from the STUN server
 * means the server answered with this machine's own address: ok, and the detail says so.
 * Errors the browser reports (e.g. TURN's 401 for refused credentials) are named in the detail.
 */
async function checkCandidate(media: MediaLayer, servers: RTCIceServer[], wanted: "srflx" | "relay"): Promise<DiagnoseCheck> {
  const pc = media.createPeerConnection({ iceServers: servers, iceTransportPolicy: wanted === "relay" ? "relay" : "all" });
  const urls = servers.flatMap((s) => s.urls).join(", ");
  const hosts = new Set<string>();
  const errors: string[] = [];
  pc.addEventListener("icecandidateerror", (event: Event) => {
    const e = event as RTCPeerConnectionIceErrorEvent;
    const text = `${e.url || urls}: ${e.errorCode} ${e.errorText}`.trim();
    if (!errors.includes(text)) errors.push(text);
  });
  try {
    pc.createDataChannel("zorio-diagnose");
    const found = new Promise<string | null | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ICE_CHECK_TIMEOUT_MS);
      pc.addEventListener("icecandidate", (event: RTCPeerConnectionIceEvent) => {
        const c = event.candidate;
        if (!c) {
          clearTimeout(timer);
          resolve(null);
        } else if (c.candidate.includes(` typ ${wanted}`)) {
          clearTimeout(timer);
          resolve(c.address ?? c.candidate);
        } else if (c.candidate.includes(" typ host") && c.address && !c.address.endsWith(".local")) {
          hosts.add(c.address);
        }
      });
    });
    await pc.setLocalDescription(await pc.createOffer());
    const address = await found;
    if (address) return pass(`${wanted} candidate ${address}`);
    if (errors.length) return fail(`no ${wanted} candidate: ${errors.join("; ")}`);
    if (address === undefined) return fail(`no ${wanted} candidate from ${urls} in ${ICE_CHECK_TIMEOUT_MS} ms`);
    if (wanted === "srflx" && hosts.size) {
      return pass(`${urls} answered with this machine's own address (no NAT): the browser drops a srflx candidate equal to host candidate ${[...hosts].join(", ")}`);
    }
    return fail(`no ${wanted} candidate from ${urls}`);
  } catch (err) {
    return fail(String(err));
  } finally {
    pc.close();
  }
}

/** webphone-diagnose.js announces `runDiagnose` with this event on `document` (chunks.ts waits for it). */
export const DIAGNOSE_READY = "zorio:diagnose";

/** How the checks read sip-config: the SDK's own reader (config.ts), given by webphone.js so that this
 * file, loaded on its own (webphone-diagnose.js), carries no copy of it and of the error table. */
export type FetchConfig = (apiBase: string, token: string) => Promise<SipConfig>;

export async function runDiagnose(opts: DiagnoseOptions & { apiBase: string }, fetchConfig: FetchConfig): Promise<DiagnoseResult> {
  const media = opts.media ?? browserMedia;
  const secure = typeof isSecureContext === "boolean" ? isSecureContext : location.protocol === "https:";
  const result: DiagnoseResult = {
    ok: false,
    noFailures: false,
    skipped: [],
    secureContext: secure ? pass(location.protocol + "//" + location.host) : fail(`${location.protocol} is not a secure context; use HTTPS`),
    microphone: await checkMicrophone(media),
    config: skip("no token"),
    websocket: skip("no token"),
    stun: skip("no STUN server configured"),
    turn: skip("no TURN server configured"),
  };
  if (opts.token) {
    try {
      const config = await fetchConfig(opts.apiBase, opts.token);
      result.config = pass(`extension ${config.extension}`);
      const stun = urlsOf(config.ice_servers ?? [], /^stuns?:/);
      const turn = urlsOf(config.ice_servers ?? [], /^turns?:/);
      const [ws, stunCheck, turnCheck] = await Promise.all([
        checkWebSocket(config.ws_url, opts.token, opts.WebSocket ?? WebSocket),
        stun.length ? checkCandidate(media, stun, "srflx") : Promise.resolve(result.stun),
        turn.length ? checkCandidate(media, turn, "relay") : Promise.resolve(result.turn),
      ]);
      Object.assign(result, { websocket: ws, stun: stunCheck, turn: turnCheck });
    } catch (err) {
      const e = err as { code?: string; message?: string; details?: Record<string, unknown> };
      result.config = fail(`${e.code ?? "error"}: ${String(e.details?.message ?? e.message ?? err)}`);
      result.websocket = fail("sip-config unavailable");
    }
  }
  const checks = CHECK_NAMES.map((name) => [name, result[name]] as const);
  result.ok = checks.every(([, c]) => c.ok);
  result.noFailures = checks.every(([, c]) => c.status !== "fail");
  result.skipped = checks.filter(([, c]) => c.skipped).map(([name]) => name);
  return result;
}
