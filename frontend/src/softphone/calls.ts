/**
 * The phone's calls as the host page sees them: the call summary posted with every callback, and
 * the wiring of the phone's and its calls' events and the agent's actions (answer, DTMF, transfers,
 * recording) to the seed's callbacks. An action is reported once it succeeded; a refusal is shown to
 * the agent by the phone UI and reported to nobody.
 */
import type { Call } from "../call";
import type { Phone } from "../phone";
import type { CallApi, PhoneApi } from "../public-api";
import type { CardDesk } from "./desk";
import type { SoftphoneCall, SoftphoneCallbacks } from "./public-api";

/** How long the server may take to close a finished call's record, and how often it is asked. */
const CALL_LOG_WAIT_MS = 8000;
const CALL_LOG_POLL_MS = 700;

export type Emit = (name: keyof SoftphoneCallbacks, ...args: unknown[]) => void;

export function summary(call: CallApi): SoftphoneCall {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: call.id, uuid: call.uuid, direction: call.direction, state: call.state, number: call.number, name: call.name,
    from: call.from, fromName: call.fromName, to: call.to, context: { ...call.context }, recording: call.recording,
    startedAt: call.startedAt.toISOString(), answeredAt: iso(call.answeredAt), endedAt: iso(call.endedAt),
    endReason: call.endReason, muted: call.muted, onHold: call.onHold,
  };
}

export interface Wiring {
  emit: Emit;
  desk: CardDesk;
  /** The current token (it is renewed). */
  token(): string;
  /** Whether `p` is still the logged-in phone. */
  current(p: PhoneApi): boolean;
}

/** Wires the phone's events and its calls' actions to the host's callbacks. */
export function watch(p: PhoneApi, wiring: Wiring): void {
  const { emit, desk } = wiring;
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
    if (call.uuid) void reportCallLog(call, wiring);
  });
  p.on("call_held", ({ call, by }) => emit("onCallHeld", summary(call), by));
  p.on("call_resumed", ({ call, by }) => emit("onCallResumed", summary(call), by));
  p.on("muted", ({ call }) => emit("onCallMuted", summary(call)));
  p.on("unmuted", ({ call }) => emit("onCallUnMuted", summary(call)));
  // A drop that the phone recovers from is not a logout; giving up (or the page going away) is.
  p.on("unregistered", ({ reason }) => {
    if (wiring.current(p) && (reason === "reconnect_failed" || reason === "pagehide")) emit("onLoggedOut", { reason });
  });
  const internals = p as unknown as Phone;
  internals.transport.on("frame", (frame) => emit("onWebsocketMessage", frame));
  // Every call change reaches the view: wrap its update to see new calls and wrap their actions.
  const view = internals.view;
  if (!view) return;
  const update = view.update.bind(view);
  view.update = () => {
    update();
    for (const call of p.calls) {
      if (!wrapped.has(call)) {
        wrapped.add(call);
        instrument(call as Call, emit);
        call.on("party", () => desk.render()); // a transfer changed who is on the line: the card's title says it
      }
      if (call.direction === "outgoing" && call.id && !call.consultFor && !announced.has(call)) {
        announced.add(call);
        emit("onOutgoingCallMade", summary(call));
      }
    }
  };
}

/** Reports the agent's actions on a call once they succeed. */
function instrument(call: Call, emit: Emit): void {
  const { answer, sendDtmf, transfer, attendedTransfer, completeTransfer, cancelTransfer, startRecording, stopRecording } = call;
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
  call.attendedTransfer = async (target: string) => {
    emit("onCreateIndirectTransfer", summary(call), target);
    const consult = await attendedTransfer.call(call, target);
    emit("onIndirectCallMade", summary(consult), summary(call));
    // Done when both of the agent's legs ended `transferred` (the other two parties are joined).
    consult.on("ended", ({ reason }) => {
      if (reason === "transferred") emit("onIndirectTransferDone", summary(call), summary(consult));
    });
    return consult;
  };
  call.completeTransfer = async () => {
    const original = call.consultFor ?? call;
    const consult = call.consultFor ? call : call.host.consultOf(call);
    emit("onConfirmIndirectTransfer", summary(original), consult ? summary(consult) : null);
    return completeTransfer.call(call);
  };
  call.cancelTransfer = async () => {
    const original = call.consultFor ?? call;
    const consult = call.consultFor ? call : call.host.consultOf(call);
    await cancelTransfer.call(call);
    emit("onCancelIndirectTransfer", summary(original), consult ? summary(consult) : null);
  };
  call.startRecording = async () => {
    await startRecording.call(call);
    emit("onStartRecording", summary(call));
  };
  call.stopRecording = async () => {
    await stopRecording.call(call);
    emit("onStopRecording", summary(call));
  };
}

/**
 * `onCallLogCreated`: the call's record as `GET /api/webphone/calls` lists it, once the server has
 * closed it (it writes the end of the record just after the last frame).
 */
async function reportCallLog(call: CallApi, wiring: Wiring): Promise<void> {
  const deadline = Date.now() + CALL_LOG_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${location.origin}/api/webphone/calls?page_size=20`, {
        headers: { Authorization: `Bearer ${wiring.token()}`, Accept: "application/json" }, cache: "no-store",
      });
      const body = (await response.json()) as { results?: Record<string, unknown>[] };
      const record = body.results?.find((r) => r.uuid === call.uuid);
      if (record?.ended_at) {
        wiring.emit("onCallLogCreated", record, summary(call));
        return;
      }
    } catch { /* the next attempt */ }
    await new Promise((resolve) => setTimeout(resolve, CALL_LOG_POLL_MS));
  }
}
