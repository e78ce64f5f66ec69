/**
 * Server frames are checked against the generated field table (`SERVER_FIELDS`, from the Python
 * message table) before the SDK reads them, so the code downstream works on typed messages
 * (`ServerMessage`) and never coerces unknown values. A frame that fails the check is dropped.
 */
import { ZorioWebphoneError } from "./errors";
import {
  SERVER_FIELDS, type ClientType, type FieldKind, type FieldSpec, type ServerMessage, type ServerMessageOf,
  type ServerType,
} from "./generated/protocol";

export type { ServerMessage, ServerMessageOf, ServerType };

/** A frame the SDK sends: a client message type and its fields (the server validates them). */
export interface OutgoingFrame {
  type: ClientType;
  [field: string]: unknown;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const KINDS: Record<FieldKind, (value: unknown) => boolean> = {
  str: (v) => typeof v === "string",
  int: (v) => Number.isInteger(v),
  bool: (v) => typeof v === "boolean",
  object: isRecord,
  // A list's items are not typed by the table: `registered.calls` holds objects, `agent.state.queues`
  // strings. Code reading a list checks each item (phone.ts: listedCall, String(queue)).
  list: (v) => Array.isArray(v),
};

function fieldProblem(name: string, spec: FieldSpec, value: unknown): string | null {
  const nullable = spec.endsWith("|null");
  const head = nullable ? spec.slice(0, -"|null".length) : spec;
  const optional = head.endsWith("?");
  const kind = (optional ? head.slice(0, -1) : head) as FieldKind;
  if (value === undefined) return optional ? null : `'${name}' is missing`;
  if (value === null) return nullable ? null : `'${name}' must not be null`;
  return KINDS[kind](value) ? null : `'${name}' must be of type ${kind}`;
}

export function isServerType(type: unknown): type is ServerType {
  return typeof type === "string" && Object.prototype.hasOwnProperty.call(SERVER_FIELDS, type);
}

/** Why `value` is not a server message, or null when it is one. */
export function serverFrameProblem(value: unknown): string | null {
  if (!isRecord(value)) return "not a JSON object";
  const type = value.type;
  if (!isServerType(type)) return `unknown type ${JSON.stringify(type)?.slice(0, 40)}`;
  for (const [name, spec] of Object.entries(SERVER_FIELDS[type])) {
    const problem = fieldProblem(name, spec, value[name]);
    if (problem) return `${type}: ${problem}`;
  }
  return null;
}

export function isServerMessage(value: unknown): value is ServerMessage {
  return serverFrameProblem(value) === null;
}

/** One text frame from the server: the message, or why it cannot be used. */
export function parseServerFrame(text: string): { frame: ServerMessage } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: "not JSON" };
  }
  return isServerMessage(value) ? { frame: value } : { problem: serverFrameProblem(value) ?? "invalid" };
}

/** The reply a request expected; another type is a protocol violation, reported like a failed request. */
export function expectReply<T extends ServerType>(frame: ServerMessage, type: T): ServerMessageOf<T> {
  if (frame.type !== type) {
    throw new ZorioWebphoneError("bootstrap_failed", { stage: "request", cause: "unexpected reply", type: frame.type, expected: type });
  }
  return frame as ServerMessageOf<T>;
}

/** Handlers by message type, each receiving its own message type (an explicit map, never a lookup on the frame's text). */
export type FrameHandlers<C> = { [T in ServerType]?: (ctx: C, frame: ServerMessageOf<T>) => void };

/** Runs the handler of `frame.type`; false when there is none. */
export function dispatchFrame<C, T extends ServerType>(handlers: FrameHandlers<C>, ctx: C, frame: ServerMessageOf<T>): boolean {
  const handler = handlers[frame.type as T];
  if (!handler) return false;
  handler(ctx, frame);
  return true;
}
