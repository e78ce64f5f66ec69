/** The server-frame check, driven by the generated field table: every message, every field. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { expectReply, isServerMessage, parseServerFrame, serverFrameProblem } from "../src/frames";
import { SERVER_FIELDS, SERVER_TYPES, type FieldSpec } from "../src/generated/protocol";

const SAMPLES: Record<string, unknown> = { str: "x", int: 3, bool: true, object: { a: 1 }, list: [{ a: 1 }] };
const WRONG: Record<string, unknown> = { str: 3, int: "3", bool: "true", object: [1], list: { a: 1 } };
// list items are not typed by the table (objects in registered.calls, strings in agent.state.queues)

function kind(spec: FieldSpec): string {
  return spec.replace("|null", "").replace("?", "");
}

function sample(type: string): Record<string, unknown> {
  const frame: Record<string, unknown> = { type };
  for (const [name, spec] of Object.entries(SERVER_FIELDS[type as keyof typeof SERVER_FIELDS])) frame[name] = SAMPLES[kind(spec)];
  return frame;
}

test("the field table covers every server message type", () => {
  assert.deepEqual(Object.keys(SERVER_FIELDS), [...SERVER_TYPES]);
});

for (const type of SERVER_TYPES) {
  test(`${type}: accepted whole; each field checked for presence, type and null`, () => {
    const frame = sample(type);
    assert.equal(serverFrameProblem(frame), null);
    for (const [name, spec] of Object.entries(SERVER_FIELDS[type])) {
      const { [name]: _dropped, ...without } = frame;
      assert.equal(isServerMessage(without), spec.includes("?"), `${type} without ${name}`);
      assert.equal(isServerMessage({ ...frame, [name]: null }), spec.endsWith("|null"), `${type} with ${name}: null`);
      assert.match(String(serverFrameProblem({ ...frame, [name]: WRONG[kind(spec)] })), new RegExp(`'${name}' must be of type`));
    }
  });
}

test("not an object, not JSON, an unknown or missing type", () => {
  assert.equal(serverFrameProblem(null), "not a JSON object");
  assert.equal(serverFrameProblem("registered"), "not a JSON object");
  assert.match(String(serverFrameProblem({ type: "toString" })), /unknown type/);
  assert.match(String(serverFrameProblem({ call_id: "c1" })), /unknown type/);
  assert.deepEqual(parseServerFrame("{"), { problem: "not JSON" });
  assert.deepEqual(parseServerFrame('{"type":"pong"}'), { frame: { type: "pong" } });
});

test("int fields take integers only", () => {
  const candidate = { type: "ice.candidate", call_id: "c1", candidate: "candidate:1" };
  assert.ok(isServerMessage({ ...candidate, sdp_m_line_index: 0 }));
  assert.ok(!isServerMessage({ ...candidate, sdp_m_line_index: 0.5 }));
  assert.ok(!isServerMessage({ ...candidate, sdp_m_line_index: true }));
});

test("expectReply narrows to the expected type or throws", () => {
  assert.equal(expectReply({ type: "call.trying", call_id: "c", uuid: "u" }, "call.trying").uuid, "u");
  assert.throws(() => expectReply({ type: "pong" }, "call.trying"), /could not start/);
});
