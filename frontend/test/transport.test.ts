/** Transport against a fake WebSocket: auth first, req_id correlation, frame checks, pings, reconnection. */
import assert from "node:assert/strict";
import { afterEach, mock, test } from "node:test";
import { ZorioWebphoneError } from "../src/errors";
import type { ServerMessage } from "../src/frames";
import { AUTH_TIMEOUT_MS, PING_INTERVAL_MS, REQUEST_TIMEOUT_MS, Transport, backoffDelay } from "../src/transport";
import { REGISTERED, closeTransports, fakeSockets, openTransport, rejection, until } from "./fakes";

afterEach(() => {
  closeTransports();
  mock.timers.reset();
});

test("auth is the first frame, and open() resolves with the registered frame", async () => {
  const { net, registered, tokens } = await openTransport();
  assert.deepEqual(net.last().sent, [{ type: "auth", token: "token" }]);
  assert.equal(net.last().url, "ws://zorio.test/ws/webphone/");
  assert.deepEqual(registered, REGISTERED);
  assert.deepEqual(tokens, [false]);
});

test("a refused auth rejects open() with bootstrap_failed, the server's code, and closes the socket", async () => {
  const net = fakeSockets();
  const transport = new Transport({ url: "ws://x/", token: async () => "bad", WebSocket: net.WebSocket, log: () => undefined });
  const opened = transport.open();
  await until(() => net.sockets.length === 1);
  net.last().accept();
  net.last().receive({ type: "error", code: "unauthorized", message: "Invalid token." });
  const error = await rejection(opened);
  assert.equal(error.code, "bootstrap_failed");
  assert.deepEqual(error.details, { stage: "websocket", unauthorized: true, server_code: "unauthorized", message: "Invalid token." });
  assert.ok(net.last().closedWith);
});

test("no registered frame within the auth timeout fails open()", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  const net = fakeSockets();
  const transport = new Transport({ url: "ws://x/", token: async () => "t", WebSocket: net.WebSocket, log: () => undefined });
  const opened = transport.open();
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(net.sockets.length, 1);
  net.last().accept();
  mock.timers.tick(AUTH_TIMEOUT_MS);
  const error = await rejection(opened);
  assert.equal(error.details.cause, "timeout");
});

test("a reply carrying the request's req_id resolves it; an error carrying it rejects with the server's code", async () => {
  const { net, transport } = await openTransport();
  const socket = net.last();
  const created = transport.request({ type: "call.create", destination: "1002", sdp: "v=0" });
  const create = socket.lastSent("call.create");
  assert.match(String(create.req_id), /^r\d+$/);
  socket.receive({ type: "call.trying", req_id: create.req_id, call_id: "c1", uuid: "u1" });
  assert.deepEqual(await created, { type: "call.trying", req_id: create.req_id, call_id: "c1", uuid: "u1" });

  const held = transport.request({ type: "call.hold", call_id: "c1" });
  const hold = socket.lastSent("call.hold");
  socket.receive({ type: "error", req_id: hold.req_id, call_id: "c1", code: "invalid_state", message: "Not now." });
  const error = await rejection(held);
  assert.equal(error.code, "invalid_state");
  assert.deepEqual(error.details, { server_code: "invalid_state", message: "Not now.", call_id: "c1" });
});

test("a server code outside the tables becomes bad_request, keeping the server's code in details", async () => {
  const { net, transport } = await openTransport();
  const pending = transport.request({ type: "ping" });
  net.last().receive({ type: "error", req_id: net.last().lastSent("ping").req_id, code: "brand_new", message: "?" });
  const error = await rejection(pending);
  assert.equal(error.code, "bad_request");
  assert.equal(error.details.server_code, "brand_new");
});

test("a frame matching the request's `match` resolves it even without a req_id", async () => {
  const { net, transport } = await openTransport();
  const answered = transport.request({ type: "call.answer", call_id: "c1", sdp: "v=0" }, (f) => f.type === "call.answered");
  net.last().receive({ type: "call.answered", call_id: "c1" });
  assert.deepEqual(await answered, { type: "call.answered", call_id: "c1" });
});

test("frames that are not valid server messages are dropped before anything reads them", async () => {
  const log: unknown[][] = [];
  const { net, transport } = await openTransport({ log });
  const seen: ServerMessage[] = [];
  transport.on("frame", (frame) => seen.push(frame));
  const socket = net.last();
  socket.receiveText("{not json");
  socket.receive([1, 2]);
  socket.receive({ type: "call.nonsense", call_id: "c1" });
  socket.receive({ type: "call.party", call_id: "c1" }); // no uuid, number, name
  socket.receive({ type: "call.ended", call_id: "c1" }); // no reason
  socket.receive({ type: "call.ended", call_id: 7, reason: "hangup" });
  socket.receive({ type: "call.held", call_id: "c1", by: null });
  socket.receive({ type: "registered", extension: "1001", user: {}, calls: "not a list" });
  socket.receive({ type: "ice.candidate", call_id: "c1", candidate: "candidate:1", sdp_m_line_index: 0.5 });
  assert.equal(seen.length, 0);
  assert.equal(log.filter((line) => line[0] === "dropped a frame:").length, 9);
  // a list's items are the reader's to check (objects in registered.calls, strings in agent.state.queues)
  socket.receive({ type: "agent.state", state: "ready", queues: ["3901"] });
  assert.deepEqual(seen.splice(0).map((f) => f.type), ["agent.state"]);
  // nullable fields may be null or absent (the server omits None values)
  socket.receive({ type: "ice.candidate", call_id: "c1", candidate: "candidate:1", sdp_mid: null });
  socket.receive({ type: "call.ended", call_id: "c1", reason: "hangup", extra: "ignored" });
  assert.deepEqual(seen.map((f) => f.type), ["ice.candidate", "call.ended"]);
});

test("a malformed reply does not settle the request it names", async () => {
  const { net, transport } = await openTransport();
  const socket = net.last();
  let settled = false;
  const created = transport.request({ type: "call.create", destination: "1002", sdp: "v=0" }).finally(() => (settled = true));
  const reqId = socket.lastSent("call.create").req_id;
  socket.receive({ type: "call.trying", req_id: reqId, call_id: "c1" }); // no uuid
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(settled, false);
  socket.receive({ type: "call.trying", req_id: reqId, call_id: "c1", uuid: "u1" });
  assert.equal((await created).type, "call.trying");
});

test("a request without any reply times out", async () => {
  const { transport } = await openTransport();
  mock.timers.enable({ apis: ["setTimeout"] });
  const pending = transport.request({ type: "call.hold", call_id: "c1" });
  mock.timers.tick(REQUEST_TIMEOUT_MS);
  const error = await rejection(pending);
  assert.deepEqual(error.details, { stage: "request", cause: "timeout", type: "call.hold" });
});

test("sending while disconnected throws bootstrap_failed", async () => {
  const net = fakeSockets();
  const transport = new Transport({ url: "ws://x/", token: async () => "t", WebSocket: net.WebSocket, log: () => undefined });
  assert.throws(() => transport.send({ type: "ping" }), (err: unknown) => err instanceof ZorioWebphoneError && err.details.cause === "not connected");
});

test("a ping every interval; a missing pong closes the socket to reconnect", async () => {
  mock.timers.enable({ apis: ["setInterval"] });
  const { net } = await openTransport();
  const socket = net.last();
  mock.timers.tick(PING_INTERVAL_MS);
  assert.equal(socket.sentOf("ping").length, 1);
  socket.receive({ type: "pong" });
  mock.timers.tick(PING_INTERVAL_MS);
  assert.equal(socket.sentOf("ping").length, 2);
  assert.equal(socket.closedWith, null);
  mock.timers.tick(PING_INTERVAL_MS); // the second ping was not answered
  assert.ok(socket.closedWith);
});

test("a dropped connection rejects pending requests, reconnects with backoff and registers again", async () => {
  const { net, transport, tokens } = await openTransport();
  const events: string[] = [];
  transport.on("dropped", ({ code }) => events.push(`dropped ${code}`));
  transport.on("reconnecting", ({ attempt }) => events.push(`reconnecting ${attempt}`));
  let reregistered: ServerMessage | null = null;
  transport.on("reregistered", (frame) => (reregistered = frame));
  const pending = transport.request({ type: "call.hold", call_id: "c1" });
  net.last().drop(1006);
  assert.deepEqual((await rejection(pending)).details, { stage: "request", cause: "connection_lost" });
  await until(() => net.sockets.length === 2, "the second socket");
  const second = net.last();
  second.accept();
  assert.deepEqual(second.sent, [{ type: "auth", token: "token" }]);
  second.receive({ ...REGISTERED, calls: [{ call_id: "c1", state: "answered" }] });
  await until(() => reregistered !== null, "reregistered");
  assert.deepEqual(events, ["dropped 1006", "reconnecting 1"]);
  assert.deepEqual(tokens, [false, false]);
  assert.ok(transport.connected);
});

test("after an unauthorized reconnect attempt the next one asks for a fresh token", async () => {
  const { net, transport, tokens } = await openTransport();
  transport.on("reregistered", () => undefined);
  net.last().drop();
  await until(() => net.sockets.length === 2);
  net.last().accept();
  net.last().receive({ type: "error", code: "unauthorized", message: "The token has expired." });
  await until(() => net.sockets.length === 3, "the third socket");
  net.last().accept();
  assert.deepEqual(net.last().sent, [{ type: "auth", token: "fresh-token" }]);
  assert.deepEqual(tokens, [false, false, true]);
});

test("reconnection gives up after maxAttempts with `failed`", async () => {
  const { net, transport } = await openTransport({ reconnect: { maxAttempts: 2 } });
  let failed: unknown = null;
  transport.on("failed", (event) => (failed = event));
  net.last().drop();
  for (const n of [2, 3]) {
    await until(() => net.sockets.length === n, `socket ${n}`);
    net.last().drop();
  }
  await until(() => failed !== null, "failed");
  assert.deepEqual(failed, { attempts: 2, cause: "limit" });
  assert.equal(net.sockets.length, 3);
});

test("close() ends the socket with 1000, rejects what is pending and does not reconnect", async () => {
  const { net, transport } = await openTransport();
  let reconnecting = false;
  transport.on("reconnecting", () => (reconnecting = true));
  const pending = transport.request({ type: "call.hold", call_id: "c1" });
  transport.close();
  assert.deepEqual((await rejection(pending)).details, { stage: "request", cause: "closed" });
  assert.deepEqual(net.last().closedWith, { code: 1000, reason: "bye" });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(reconnecting, false);
  assert.equal(net.sockets.length, 1);
});

test("backoff doubles up to its ceiling, with ±30 % jitter", () => {
  assert.equal(backoffDelay(1, 500, 15000, () => 0.5), 500);
  assert.equal(backoffDelay(3, 500, 15000, () => 0.5), 2000);
  assert.equal(backoffDelay(10, 500, 15000, () => 0.5), 15000);
  assert.equal(backoffDelay(1, 1000, 15000, () => 0), 700);
  assert.equal(backoffDelay(1, 1000, 15000, () => 1), 1300);
});
