/** Phone against a fake server (sip-config and refresh over a fake fetch, signalling over a fake WebSocket). */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { fetchSipConfig } from "../src/config";
import { runDiagnose } from "../src/diagnose";
import { Phone } from "../src/phone";
import type { ConnectOptions, PhoneEventName } from "../src/public-api";
import { SIP_CONFIG, type Route, fakeBrowser, restoreBrowser } from "./browser";
import { type FakeSocket, type Json, REGISTERED, fakeMedia, fakeSockets, rejection, until } from "./fakes";

const phones: { phone: Phone; net: ReturnType<typeof fakeSockets> }[] = [];
afterEach(async () => {
  for (const { phone, net } of phones.splice(0)) {
    for (const socket of net.sockets) if (socket.readyState < 2) socket.drop(); // nothing waits for replies
    await phone.disconnect();
  }
  restoreBrowser();
});

/**
 * A signalling server that accepts every socket and answers `auth` with `registered`, listing the
 * calls `live()` returns (a reconnect re-attaches them). `tokens` are the tokens sockets authenticated with.
 */
function autoServer(net: ReturnType<typeof fakeSockets>, live: () => Json[] = () => []) {
  const tokens: string[] = [];
  const answered = new WeakSet<FakeSocket>();
  const first = net.sockets.length; // sockets opened from now on
  const timer = setInterval(() => {
    for (const socket of net.sockets.slice(first)) {
      if (socket.readyState === 0) socket.accept();
      const auth = socket.sent.find((f) => f.type === "auth");
      if (auth && !answered.has(socket) && socket.readyState === 1) {
        answered.add(socket);
        tokens.push(String(auth.token));
        socket.receive({ ...REGISTERED, calls: live() });
      }
    }
  }, 1);
  return { tokens, stop: () => clearInterval(timer) };
}

async function connected(options: Partial<ConnectOptions> = {}, routes: Record<string, Route> = {}) {
  const requests = fakeBrowser({ "/api/webphone/sip-config": () => [200, SIP_CONFIG], ...routes });
  const net = fakeSockets();
  const media = fakeMedia();
  const server = autoServer(net);
  const phone = new Phone({ token: "t0", WebSocket: net.WebSocket, media, reconnect: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 }, ...options },
    "http://zorio.test", "ring.wav");
  phones.push({ phone, net });
  const events: { name: PhoneEventName; payload: unknown }[] = [];
  for (const name of ["registered", "unregistered", "reconnecting", "incoming", "incoming_call", "error", "warning"] as const) {
    phone.on(name, (payload) => events.push({ name, payload }));
  }
  await phone.bootstrap();
  server.stop();
  return { phone, net, media, requests, events, names: () => events.map((e) => e.name) };
}

test("an incoming call: from, fromName, to; `incoming` carries the call itself; activeCalls and getCall", async () => {
  const { phone, net, events } = await connected();
  net.last().receive({ type: "call.incoming", call_id: "in1", uuid: "u1", from: "1002", from_name: "Bob", to: "1001", sdp: "v=0 offer", headers: { "X-Campaign": "spring" } });
  const call = phone.calls[0]!;
  assert.deepEqual([call.from, call.fromName, call.to, call.number, call.name], ["1002", "Bob", "1001", "1002", "Bob"]);
  assert.deepEqual(call.headers, { "X-Campaign": "spring" });
  assert.equal(events.find((e) => e.name === "incoming")!.payload, call);
  assert.deepEqual(phone.activeCalls, [{ id: "in1", from: "1002", to: "1001", direction: "incoming", state: "ringing" }]);
  assert.equal(phone.getCall("in1"), call);
  assert.equal(phone.getCall("u1"), call);
  assert.equal(phone.getCall("nope"), undefined);
});

test("phone.call(number, {campaignId: 36, leadId, callerId}): ids travel as strings, the context is kept", async () => {
  const { phone, net } = await connected();
  const placing = phone.call("0912 345 678", { campaignId: 36, leadId: "L-7", callerId: "19001234", callerName: "Acme" });
  await until(() => net.last().sentOf("call.create").length > 0, "call.create");
  const create = net.last().lastSent("call.create");
  assert.equal(create.destination, "0912345678");
  assert.deepEqual(create.options, { campaign_id: "36", lead_id: "L-7", caller_id: "19001234", caller_name: "Acme" });
  net.last().receive({ type: "call.trying", req_id: create.req_id, call_id: "c1", uuid: "u1" });
  const call = await placing;
  assert.deepEqual(call.context, { campaignId: "36", leadId: "L-7", callerName: "Acme" });
  assert.deepEqual([call.from, call.fromName, call.to], ["1001", "Alice", "0912345678"]);
  net.last().receive({ type: "call.answered", call_id: "c1" });
  net.last().receive({ type: "call.held", call_id: "c1", by: "remote" });
  assert.deepEqual(phone.activeCalls.map((c) => c.state), ["held"]);
});

test("the first drop emits unregistered (connection_lost); the reconnection registers again", async () => {
  const { phone, net, names, events } = await connected();
  const server = autoServer(net);
  net.last().drop();
  assert.equal(phone.status, "connecting");
  await until(() => phone.status === "registered", "registered again");
  server.stop();
  assert.deepEqual(names(), ["registered", "unregistered", "reconnecting", "registered"]);
  assert.deepEqual(events[1]!.payload, { reason: "connection_lost" });
});

test("without setSinkId a chosen speaker is a warning (audio_output_unsupported), not a failure", async () => {
  const { phone, events } = await connected({ audioOutputDeviceId: "speaker-2" });
  await until(() => events.some((e) => e.name === "warning"), "the warning");
  const warning = events.find((e) => e.name === "warning")!.payload as { code: string; details: Json };
  assert.deepEqual([warning.code, warning.details.deviceId], ["audio_output_unsupported", "speaker-2"]);
  assert.equal(phone.audioOutputDeviceId, undefined);
  assert.equal(phone.status, "registered");
  assert.equal((await rejection(phone.setAudioOutputDevice("speaker-3"))).code, "audio_output_unsupported");
  assert.equal(events.filter((e) => e.name === "warning").length, 2);
});

test("a refresh token renews the session before each expiry; the socket moves to each new token and the call goes on", async () => {
  const lifeMs = 3000;
  const issued: string[] = [];
  const used = new Set<string>();
  const refresh: Route = ({ body }) => {
    const presented = String(body?.refresh_token);
    if (used.has(presented) || !(presented === "r0" || issued.includes(presented))) return [401, { code: "unauthorized", message: "reused" }];
    used.add(presented);
    const n = issued.length + 1;
    issued.push(`r${n}`);
    return [200, { token: `t${n}`, expires_at: new Date(Date.now() + lifeMs).toISOString(), refresh_token: `r${n}` }];
  };
  const sipConfig: Route = () => [200, { ...SIP_CONFIG, token_expires_at: new Date(Date.now() + lifeMs).toISOString() }];
  const { phone, net, requests, names } = await connected({ refreshToken: "r0" },
    { "/api/webphone/sip-config": sipConfig, "/api/webphone/tokens/refresh": refresh });
  // a live call, which every new socket gets back in `registered.calls`
  net.last().receive({ type: "call.incoming", call_id: "in1", uuid: "u1", from: "1002", from_name: "Bob", to: "1001", sdp: "v=0", headers: {} });
  const call = phone.calls[0]!;
  const answering = call.answer();
  await until(() => net.last().sentOf("call.answer").length > 0);
  net.last().receive({ type: "call.answered", call_id: "in1" });
  await answering;
  const server = autoServer(net, () => [{ call_id: "in1", uuid: "u1", state: "answered", direction: "incoming", number: "1002", name: "Bob" }]);
  await until(() => server.tokens.length >= 3, "three renewals", 12000);
  server.stop();
  assert.deepEqual(server.tokens.slice(0, 3), ["t1", "t2", "t3"]);
  assert.deepEqual(requests.filter((r) => r.url === "/api/webphone/tokens/refresh").slice(0, 3).map((r) => r.body?.refresh_token), ["r0", "r1", "r2"]);
  assert.ok(requests.every((r) => r.url !== "/api/webphone/tokens/refresh" || !r.headers.authorization), "refresh carries no other credential");
  // each old socket was closed by the client (1000), not dropped, and nothing was announced as a drop
  assert.ok(net.sockets.slice(0, 3).every((s) => s.closedWith?.code === 1000));
  assert.deepEqual(names().filter((n) => n !== "incoming" && n !== "incoming_call"), ["registered"]);
  assert.equal(call.state, "answered");
  assert.equal(phone.status, "registered");
});

test("diagnose(): a skipped check is not a pass; each check says why", async () => {
  fakeBrowser({});
  Object.defineProperty(globalThis, "isSecureContext", { value: true, configurable: true });
  Object.defineProperty(globalThis, "location", { value: { protocol: "https:", host: "crm.example" }, configurable: true });
  try {
    const result = await runDiagnose({ apiBase: "http://zorio.test", media: fakeMedia() }, fetchSipConfig);
    assert.equal(result.ok, false, "nothing was checked against the server");
    assert.equal(result.noFailures, true);
    assert.deepEqual(result.skipped, ["config", "websocket", "stun", "turn"]);
    assert.deepEqual(result.config, { status: "skipped", ok: false, skipped: true, detail: "no token" });
    assert.equal(result.microphone.status, "ok");
    assert.match(result.microphone.detail, /^granted/);
  } finally {
    delete (globalThis as Record<string, unknown>).isSecureContext;
    delete (globalThis as Record<string, unknown>).location;
  }
});

test("who is on the line: the call record at set-up, then call.party frames (a transfer), with no polling", async () => {
  const records: Json[] = [{ uuid: "u1", direction: "outgoing", from: "1001", from_name: "Alice", to: "1002", to_name: "Bob",
    started_at: "2026-01-01T00:00:00Z", answered_at: null, ended_at: null, options: { campaign_id: "36" } }];
  let reads = 0;
  const { phone, net } = await connected({}, { "/api/webphone/calls": () => { reads += 1; return [200, { count: records.length, results: records }]; } });
  const placing = phone.call("1002");
  await until(() => net.last().sentOf("call.create").length > 0);
  net.last().receive({ type: "call.trying", req_id: net.last().lastSent("call.create").req_id, call_id: "c1", uuid: "u1" });
  const call = await placing;
  await until(() => call.name === "Bob", "the called party's name");
  assert.deepEqual(call.context, { campaignId: "36" });
  const parties: Json[] = [];
  call.on("party", ({ call: which, number, name }) => parties.push({ same: which === call, number, name }));
  net.last().receive({ type: "call.answered", call_id: "c1" });
  // the other party transferred this leg to Carol: the server says so, with the leg's new record
  net.last().receive({ type: "call.party", call_id: "c1", uuid: "u2", number: "1003", name: "Carol" });
  assert.deepEqual([call.uuid, call.number, call.name, call.to, call.from], ["u2", "1003", "Carol", "1003", "1001"]);
  assert.deepEqual(parties, [{ same: true, number: "1003", name: "Carol" }]);
  net.last().receive({ type: "call.resumed", call_id: "c1", by: "remote" });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(reads, 1, "the record is read once, at set-up");
  // an incoming call's caller is the party that changes
  net.last().receive({ type: "call.incoming", call_id: "in1", uuid: "u3", from: "1004", from_name: "Dave", to: "1001", sdp: "v=0", headers: {} });
  const incoming = phone.getCall("in1")!;
  net.last().receive({ type: "call.party", call_id: "in1", uuid: "u4", number: "0912345678", name: "" });
  assert.deepEqual([incoming.from, incoming.fromName, incoming.number, incoming.name, incoming.to, incoming.uuid],
    ["0912345678", "", "0912345678", "", "1001", "u4"]);
});

test("an incoming caller's own name (a callerName option) is kept when the call record names the extension", async () => {
  const records: Json[] = [{ uuid: "u9", direction: "internal", from: "1002", from_name: "Bob", to: "1001", to_name: "Alice",
    started_at: "2026-01-01T00:00:00Z", answered_at: null, ended_at: null, options: { caller_name: "Acme sales", campaign_id: "36" } }];
  let reads = 0;
  const { phone, net } = await connected({}, { "/api/webphone/calls": () => { reads += 1; return [200, { count: 1, results: records }]; } });
  net.last().receive({ type: "call.incoming", call_id: "in9", uuid: "u9", from: "1002", from_name: "Acme sales", to: "1001", sdp: "v=0", headers: {} });
  const call = phone.getCall("in9")!;
  await until(() => reads === 1 && call.context.campaignId === "36", "the record read");
  assert.deepEqual([call.fromName, call.name], ["Acme sales", "Acme sales"]);
});

test("setAgentState: the request and its reply; a change made elsewhere is an agent_state event", async () => {
  const { phone, net, events } = await connected();
  const setting = phone.setAgentState("logged_in");
  const frame = net.last().lastSent("agent.state");
  assert.equal(frame.state, "logged_in");
  net.last().receive({ type: "agent.state", req_id: frame.req_id, state: "ready", queues: ["3901"] });
  assert.deepEqual(await setting, { state: "ready", queues: ["3901"] });
  phone.on("agent_state", (payload) => events.push({ name: "agent_state", payload }));
  net.last().receive({ type: "agent.state", state: "paused", queues: ["3901"] });
  assert.deepEqual(events.filter((e) => e.name === "agent_state").map((e) => e.payload), [{ state: "paused", queues: ["3901"] }]);
});

test("a partner's off(event) clears the partner's handlers, not the SDK's own UI listeners", async () => {
  const { phone, net } = await connected();
  const heard: string[] = [];
  phone.listen("incoming_call", () => heard.push("ui"));
  phone.on("incoming_call", () => heard.push("partner"));
  phone.off("incoming_call");
  net.last().receive({ type: "call.incoming", call_id: "in1", uuid: "u1", from: "1002", from_name: "Bob", to: "1001", sdp: "v=0", headers: {} });
  assert.deepEqual(heard, ["ui"]);
});
