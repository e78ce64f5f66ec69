/** Call against a fake server (a real Transport over a fake WebSocket) and fake media: whole state sequences. */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { Call } from "../src/call";
import { FakeHost, type FakeSocket, type Json, closeTransports, openTransport, rejection, until } from "./fakes";

afterEach(closeTransports);

async function setUp() {
  const { net, transport } = await openTransport();
  const host = new FakeHost(transport);
  return { host, socket: net.last() };
}

function add(host: FakeHost, call: Call): Call {
  host.calls.push(call);
  return call;
}

/** An outgoing call the server has accepted (`call.trying`, `sdp.answer`). */
async function outgoing(host: FakeHost, socket: FakeSocket, number = "1002"): Promise<Call> {
  const call = add(host, new Call(host, "outgoing", number, "originating"));
  const started = call.startOutgoing({ campaign_id: "spring" });
  await until(() => socket.sentOf("call.create").length > 0, "call.create");
  const create = socket.lastSent("call.create");
  socket.receive({ type: "call.trying", req_id: create.req_id, call_id: "c1", uuid: "u1" });
  await started; // a browser runs the reply's continuation before the next message event
  socket.receive({ type: "sdp.answer", req_id: create.req_id, call_id: "c1", sdp: "v=0 server-answer" });
  return call;
}

/** An incoming call as the Phone builds it from `call.incoming`. */
function incoming(host: FakeHost): Call {
  const call = add(host, new Call(host, "incoming", "1002", "ringing"));
  call.id = "in1";
  call.uuid = "u2";
  call.remoteOffer = "v=0 server-offer";
  return call;
}

test("an outgoing call: create, trying, answer SDP, ringing, answered, hangup, wrap-up, close", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  const create = socket.lastSent("call.create");
  assert.deepEqual({ ...create, req_id: undefined }, {
    type: "call.create", destination: "1002", sdp: "v=0 client-offer", options: { campaign_id: "spring" }, req_id: undefined,
  });
  assert.equal(call.id, "c1");
  assert.equal(call.uuid, "u1");
  const pc = host.media.pcs[0]!;
  await until(() => pc.remoteDescription !== null, "the answer applied");
  assert.deepEqual(pc.remoteDescription, { type: "answer", sdp: "v=0 server-answer" });

  socket.receive({ type: "call.ringing", call_id: "c1" });
  socket.receive({ type: "call.answered", call_id: "c1" });
  assert.equal(call.state, "answered");
  assert.ok(call.answeredAt);

  const hungUp = call.hangup();
  const hangup = socket.lastSent("call.hangup");
  assert.equal(hangup.call_id, "c1");
  socket.receive({ type: "call.ended", call_id: "c1", reason: "hangup" });
  await hungUp;
  assert.equal(call.state, "wrap_up");
  assert.equal(call.endReason, "hangup");
  assert.ok(pc.closed, "media is released when the call leaves answered");
  assert.ok(host.media.streams[0]!.tracks.every((t) => t.stopped));
  await call.close();
  assert.deepEqual(call.transitions, ["originating -> ringing", "ringing -> answered", "answered -> wrap_up", "wrap_up -> closed"]);
  assert.deepEqual(host.events(), ["call_ringing", "call_answered", "call_hangup"]);
  assert.deepEqual(host.emitted.at(-1)!.payload, { call, reason: "hangup" });
});

test("an incoming call answered: the server's offer in, the client's answer out", async () => {
  const { host, socket } = await setUp();
  const call = incoming(host);
  const answering = call.answer();
  await until(() => socket.sentOf("call.answer").length > 0, "call.answer");
  const answer = socket.lastSent("call.answer");
  assert.equal(answer.call_id, "in1");
  assert.equal(answer.sdp, "v=0 client-answer");
  assert.deepEqual(host.media.pcs[0]!.remoteDescription, { type: "offer", sdp: "v=0 server-offer" });
  socket.receive({ type: "call.answered", call_id: "in1" });
  await answering;
  assert.equal(call.state, "answered");
  assert.deepEqual(call.transitions, ["ringing -> answered"]);
});

test("reject(486) sends the code and ends the call busy", async () => {
  const { host, socket } = await setUp();
  const call = incoming(host);
  const rejecting = call.reject(486);
  const reject = socket.lastSent("call.reject");
  assert.deepEqual([reject.call_id, reject.code], ["in1", 486]);
  socket.receive({ type: "call.ended", call_id: "in1", reason: "busy" });
  await rejecting;
  assert.equal(call.state, "closed");
  assert.equal(call.endReason, "busy");
  assert.deepEqual(call.transitions, ["ringing -> closed"]);
});

test("methods refuse what the call's state or input does not allow, and send nothing", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  const sentBefore = socket.sent.length;
  assert.equal((await rejection(call.answer())).code, "not_incoming");
  assert.equal((await rejection(call.hold())).code, "invalid_state"); // not answered yet
  assert.equal((await rejection(call.sendDtmf("xyz"))).code, "invalid_dtmf");
  assert.equal((await rejection(call.transfer("not a number"))).code, "invalid_target");
  assert.equal(socket.sent.length, sentBefore);
  assert.equal(call.state, "originating");
});

test("a server refusal rejects the method with the server's code and changes nothing", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  const holding = call.hold();
  socket.receive({ type: "error", req_id: socket.lastSent("call.hold").req_id, call_id: "c1", code: "invalid_state", message: "No." });
  assert.equal((await rejection(holding)).code, "invalid_state");
  assert.equal(call.onHold, false);
  assert.equal(call.state, "answered");
});

test("hold by either side: flags and events carry who held", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  const holding = call.hold();
  socket.receive({ type: "call.held", call_id: "c1", by: "local" });
  await holding;
  socket.receive({ type: "call.held", call_id: "c1", by: "remote" });
  assert.deepEqual([call.onHold, call.remoteHold], [true, true]);
  socket.receive({ type: "call.resumed", call_id: "c1", by: "remote" });
  assert.deepEqual([call.onHold, call.remoteHold], [true, false]);
  const held = host.emitted.filter((e) => e.event === "call_held" || e.event === "call_resumed");
  assert.deepEqual(held.map((e) => [e.event, (e.payload as Json).by]), [["call_held", "local"], ["call_held", "remote"], ["call_resumed", "remote"]]);
});

test("mute, DTMF in chunks and the digits the bridge reports", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  const muting = call.mute();
  assert.equal(host.media.streams[0]!.tracks[0]!.enabled, false);
  socket.receive({ type: "call.muted", call_id: "c1" });
  await muting;
  assert.equal(call.muted, true);
  const digits: string[] = [];
  call.on("dtmf", ({ digit }) => digits.push(digit));
  const sending = call.sendDtmf("12#");
  assert.equal(socket.lastSent("call.dtmf").digits, "12#");
  socket.receive({ type: "call.dtmf_received", call_id: "c1", digit: "1" });
  await sending;
  assert.deepEqual(digits, ["1"]);
});

test("remote ICE candidates reach the peer connection; a missing sdp_mid is null", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  const pc = host.media.pcs[0]!;
  await until(() => pc.remoteDescription !== null);
  socket.receive({ type: "ice.candidate", call_id: "c1", candidate: "candidate:1 1 udp 1 10.0.0.1 4000 typ host", sdp_mid: "0", sdp_m_line_index: 0 });
  socket.receive({ type: "ice.candidate", call_id: "c1", candidate: "candidate:2 1 udp 1 10.0.0.2 4000 typ host" });
  await until(() => pc.candidates.length === 2, "two candidates");
  assert.deepEqual(pc.candidates, [
    { candidate: "candidate:1 1 udp 1 10.0.0.1 4000 typ host", sdpMid: "0", sdpMLineIndex: 0 },
    { candidate: "candidate:2 1 udp 1 10.0.0.2 4000 typ host", sdpMid: null, sdpMLineIndex: null },
  ]);
  assert.equal(call.state, "originating");
});

test("out-of-order and malformed signalling is dropped: the state only moves along the table", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  socket.receive({ type: "call.ended", call_id: "c1" }); // no reason: not a valid frame
  assert.equal(call.state, "answered");
  socket.receive({ type: "call.ended", call_id: "c1", reason: "busy" });
  socket.receive({ type: "call.answered", call_id: "c1" }); // too late
  assert.equal(call.state, "wrap_up");
  assert.equal(call.endReason, "busy");
  assert.deepEqual(call.transitions, ["originating -> answered", "answered -> wrap_up"]);
  assert.ok(host.logs.some((line) => String(line[0]).includes("dropped 'answer' in wrap_up")));
});

test("an attended transfer makes the consult call from call.trying", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  const consulting = call.attendedTransfer("1003");
  const request = socket.lastSent("call.attended_transfer");
  assert.deepEqual([request.call_id, request.target], ["c1", "1003"]);
  socket.receive({ type: "call.held", call_id: "c1", by: "local" });
  socket.receive({ type: "call.trying", req_id: request.req_id, call_id: "c2", uuid: "u3" });
  const consult = await consulting;
  assert.deepEqual([consult.id, consult.uuid, consult.number, consult.consultFor], ["c2", "u3", "1003", call]);
  assert.deepEqual(host.consults.map((c) => [c.callId, c.uuid, c.target]), [["c2", "u3", "1003"]]);
});

test("a create answered by something other than call.trying fails the call's request", async () => {
  const { host, socket } = await setUp();
  const call = add(host, new Call(host, "outgoing", "1002", "originating"));
  const started = call.startOutgoing({});
  await until(() => socket.sentOf("call.create").length > 0);
  socket.receive({ type: "sdp.answer", req_id: socket.lastSent("call.create").req_id, call_id: "c1", sdp: "v=0" });
  const error = await rejection(started);
  assert.deepEqual(error.details, { stage: "request", cause: "unexpected reply", type: "sdp.answer", expected: "call.trying" });
});

test("hanging up before call.trying cancels once the server names the call", async () => {
  const { host, socket } = await setUp();
  const call = add(host, new Call(host, "outgoing", "1002", "originating"));
  const started = call.startOutgoing({});
  await until(() => socket.sentOf("call.create").length > 0);
  const hangingUp = call.hangup(); // call.create is in flight
  assert.equal(socket.sentOf("call.hangup").length, 0);
  socket.receive({ type: "call.trying", req_id: socket.lastSent("call.create").req_id, call_id: "c1", uuid: "u1" });
  await started;
  await hangingUp;
  await until(() => socket.sentOf("call.hangup").length === 1, "the deferred hangup");
  socket.receive({ type: "call.ended", call_id: "c1", reason: "cancelled" });
  await until(() => call.state === "closed", "closed");
  assert.equal(call.endReason, "cancelled");
});

test("per-call events (seed 001): trying, ringing, answered, held/resumed with who, mute, dtmf, ended with the reason", async () => {
  const { host, socket } = await setUp();
  const call = add(host, new Call(host, "outgoing", "1002", "originating"));
  const seen: string[] = [];
  for (const name of ["trying", "ringing", "answered", "held", "resumed", "muted", "unmuted", "dtmf", "ended"] as const) {
    call.on(name, (payload) => {
      assert.equal(payload.call, call);
      const extra = payload as unknown as Json;
      seen.push([name, extra.by ?? extra.digit ?? extra.reason ?? ""].filter(Boolean).join(":"));
    });
  }
  const started = call.startOutgoing({});
  await until(() => socket.sentOf("call.create").length > 0);
  socket.receive({ type: "call.trying", req_id: socket.lastSent("call.create").req_id, call_id: "c1", uuid: "u1" });
  await started;
  for (const frame of [
    { type: "call.ringing" }, { type: "call.answered" }, { type: "call.held", by: "local" }, { type: "call.resumed", by: "local" },
    { type: "call.held", by: "remote" }, { type: "call.resumed", by: "remote" }, { type: "call.muted" }, { type: "call.unmuted" },
    { type: "call.dtmf_received", digit: "5" }, { type: "call.ended", reason: "busy" },
  ]) socket.receive({ ...frame, call_id: "c1" });
  assert.deepEqual(seen, [
    "trying", "ringing", "answered", "held:local", "resumed:local", "held:remote", "resumed:remote", "muted", "unmuted", "dtmf:5", "ended:busy",
  ]);
  // the phone heard the same, under its own names
  assert.deepEqual(host.events(), ["call_ringing", "call_answered", "call_held", "call_resumed", "call_held", "call_resumed", "muted", "unmuted", "call_hangup"]);
  assert.deepEqual([call.from, call.fromName, call.to, call.isMuted], ["1001", "Alice", "1002", false]);
});

test("off(event) without a handler removes every handler of that event; with one, only it", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  const counts = { a: 0, b: 0, c: 0 };
  const a = () => counts.a++;
  call.on("answered", a).on("answered", () => counts.b++).on("ended", () => counts.c++);
  call.off("answered");
  call.off("ended", () => undefined); // another function: nothing removed
  socket.receive({ type: "call.answered", call_id: "c1" });
  socket.receive({ type: "call.ended", call_id: "c1", reason: "hangup" });
  assert.deepEqual(counts, { a: 0, b: 0, c: 1 });
});

test("reject('busy') answers 486 and ends busy; reject() answers 603 and ends rejected", async () => {
  const { host, socket } = await setUp();
  const busy = incoming(host);
  const rejecting = busy.reject("busy");
  assert.equal(socket.lastSent("call.reject").code, 486);
  socket.receive({ type: "call.ended", call_id: "in1", reason: "busy" });
  await rejecting;
  assert.equal(busy.endReason, "busy");

  const declined = add(host, new Call(host, "incoming", "1003", "ringing"));
  declined.id = "in2";
  const declining = declined.reject();
  const frame = socket.lastSent("call.reject");
  assert.deepEqual([frame.call_id, frame.code], ["in2", 603]);
  socket.receive({ type: "call.ended", call_id: "in2", reason: "rejected" });
  await declining;
  assert.equal(declined.endReason, "rejected");
});

test("answering with the microphone blocked refuses the call to the server (486) and rejects with microphone_denied", async () => {
  const { host, socket } = await setUp();
  host.media.getUserMedia = async () => {
    throw Object.assign(new Error("Permission denied"), { name: "NotAllowedError" });
  };
  const call = incoming(host);
  const ended: unknown[] = [];
  call.on("ended", ({ reason }) => ended.push(reason));
  const answering = call.answer();
  await until(() => socket.sentOf("call.reject").length > 0, "call.reject");
  assert.equal(socket.lastSent("call.reject").code, 486);
  assert.equal(socket.sentOf("call.answer").length, 0);
  socket.receive({ type: "call.ended", call_id: "in1", reason: "busy" });
  const error = await rejection(answering);
  assert.equal(error.code, "microphone_denied");
  assert.match(error.whatToDo, /Allow the microphone/);
  assert.equal(call.state, "closed");
  assert.deepEqual(ended, ["busy"]);
});

test("recording: a server without call.record answers unknown_type, reported as not_implemented; the state is not faked", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  const events: unknown[] = [];
  call.on("recording", ({ state }) => events.push(state));
  const starting = call.startRecording();
  const frame = socket.lastSent("call.record");
  assert.deepEqual([frame.call_id, frame.action], ["c1", "start"]);
  socket.receive({ type: "error", req_id: frame.req_id, code: "unknown_type", message: "No such message type." });
  const error = await rejection(starting);
  assert.equal(error.code, "not_implemented");
  assert.equal(error.details.server_code, "unknown_type");
  assert.equal(call.recording, null);
  assert.deepEqual(events, []);
});

test("cancelTransfer() hangs up the consult call (from either call); resume() unholds", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  const consulting = call.attendedTransfer("1003");
  const request = socket.lastSent("call.attended_transfer");
  socket.receive({ type: "call.held", call_id: "c1", by: "local" });
  socket.receive({ type: "call.trying", req_id: request.req_id, call_id: "c2", uuid: "u3" });
  const consult = await consulting;
  socket.receive({ type: "call.answered", call_id: "c2" });
  const cancelling = call.cancelTransfer();
  assert.equal(socket.lastSent("call.hangup").call_id, "c2");
  socket.receive({ type: "call.ended", call_id: "c2", reason: "hangup" });
  socket.receive({ type: "call.resumed", call_id: "c1", by: "local" });
  await cancelling;
  assert.equal(consult.state, "wrap_up");
  assert.equal(call.onHold, false);
  assert.equal((await rejection(call.cancelTransfer())).code, "invalid_state");
  const holding = call.hold();
  socket.receive({ type: "call.held", call_id: "c1", by: "local" });
  await holding;
  assert.ok(call.heldSince instanceof Date);
  const resuming = call.resume();
  assert.equal(socket.lastSent("call.unhold").call_id, "c1");
  socket.receive({ type: "call.resumed", call_id: "c1", by: "local" });
  await resuming;
  assert.equal(call.heldSince, null);
});

test("peerConnection is public, and null once the call has ended", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  assert.equal(call.peerConnection, host.media.pcs[0] as unknown as RTCPeerConnection);
  socket.receive({ type: "call.ended", call_id: "c1", reason: "hangup" });
  assert.equal(call.peerConnection, null);
});

test("recording: call.record answered by call.recording; the far side's change arrives as call.recording too", async () => {
  const { host, socket } = await setUp();
  const call = await outgoing(host, socket);
  socket.receive({ type: "call.answered", call_id: "c1" });
  const states: unknown[] = [];
  call.on("recording", ({ state }) => states.push(state));
  const starting = call.startRecording();
  const frame = socket.lastSent("call.record");
  socket.receive({ type: "call.recording", req_id: frame.req_id, call_id: "c1", state: "recording" });
  await starting;
  assert.equal(call.recording, "recording");
  socket.receive({ type: "call.recording", call_id: "c1", state: "paused" }); // the other party paused it
  assert.equal(call.recording, "paused");
  const stopping = call.stopRecording();
  assert.equal(socket.lastSent("call.record").action, "stop");
  socket.receive({ type: "error", req_id: socket.lastSent("call.record").req_id, call_id: "c1", code: "invalid_state", message: "No." });
  assert.equal((await rejection(stopping)).code, "invalid_state");
  assert.equal(call.recording, "paused");
  assert.deepEqual(states, ["recording", "paused"]);
  socket.receive({ type: "call.message", call_id: "c1", text: "Your position: 2" });
  assert.deepEqual(call.messages, ["Your position: 2"]);
});
