"""Every message of the WebSocket signalling protocol, in one table; the frame
parser that holds every client frame to it; `ProtocolError`, the refusal answered with `error`.

On the protocol floor: it imports nothing of the project but the error catalogue (`errors.py`),
so the call layer, the signalling consumer and the REST API all build on it. Validation of
incoming frames, the protocol reference in the README (`python -m zorio_widget.signalling.docs`)
and the TypeScript copy used by the SDK (`python -m zorio_widget.signalling.tsgen`) are all
generated from the tables below.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from zorio_widget.protocol.errors import PROTOCOL_ERRORS

MAX_FRAME_BYTES = 65536
MAX_SDP_CHARS = 32768
MAX_ID_CHARS = 64
MAX_TOKEN_CHARS = 4096
MAX_DESTINATION_CHARS = 64
MAX_DIGITS = 32
MAX_CANDIDATE_CHARS = 1024
MAX_META_CHARS = 8192
MAX_HEADERS_CHARS = 4096
MAX_MESSAGE_CHARS = 4096
#: Deepest nesting of objects and arrays a frame may have (`options.meta` is the deepest field).
MAX_FRAME_DEPTH = 16

FieldType = Literal["str", "int", "bool", "object", "list"]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool = True
    max_chars: int | None = None
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Message:
    type: str
    doc: str
    fields: tuple[Field, ...] = ()
    #: The message names an existing call through `call_id` (the consumer resolves it).
    names_call: bool = False


def _call_id(doc: str = "The call leg this message is about.") -> Field:
    return Field("call_id", "str", max_chars=MAX_ID_CHARS, doc=doc)


REQ_ID = Field("req_id", "str", required=False, max_chars=MAX_ID_CHARS, doc="Echoed in the reply or `error`.")
SDP = Field("sdp", "str", max_chars=MAX_SDP_CHARS, doc="A full SDP (candidates may also trickle).")

CLIENT_MESSAGES: dict[str, Message] = {
    m.type: m
    for m in (
        Message("auth", "Authenticate with a token (first frame, unless `?token=` was on the URL).",
                (Field("token", "str", max_chars=MAX_TOKEN_CHARS), REQ_ID)),
        Message("call.create", "Place a call. Answered by `call.trying`, then `sdp.answer`.",
                (REQ_ID, Field("destination", "str", max_chars=MAX_DESTINATION_CHARS,
                               doc="Extension, service number (`*43`, `*44`) or phone number."),
                 SDP, Field("options", "object", required=False, max_chars=MAX_META_CHARS,
                            doc="campaign_id, lead_id, customer_id, recording, caller_name, meta."))),
        Message("call.answer", "Answer an incoming call with the SDP answer to `call.incoming.sdp`.",
                (REQ_ID, _call_id(), SDP), names_call=True),
        Message("call.hangup", "End a call: cancel (outgoing, ringing), reject (incoming) or bye.",
                (REQ_ID, _call_id()), names_call=True),
        Message("call.reject", "Reject an incoming call: 486 busy or 603 decline (default).",
                (REQ_ID, _call_id(), Field("code", "int", required=False, doc="486 or 603.")), names_call=True),
        Message("call.hold", "Put the call on hold (the other party hears music).", (REQ_ID, _call_id()), names_call=True),
        Message("call.unhold", "Resume a held call.", (REQ_ID, _call_id()), names_call=True),
        Message("call.mute", "Stop forwarding this side's audio (enforced by the server).",
                (REQ_ID, _call_id()), names_call=True),
        Message("call.unmute", "Forward this side's audio again.", (REQ_ID, _call_id()), names_call=True),
        Message("call.dtmf", "Send digits (0-9 * # A-D) to the other party.",
                (REQ_ID, _call_id(), Field("digits", "str", max_chars=MAX_DIGITS)), names_call=True),
        Message("call.transfer", "Blind transfer: move the other party to `target`.",
                (REQ_ID, _call_id(), Field("target", "str", max_chars=MAX_DESTINATION_CHARS)), names_call=True),
        Message("call.attended_transfer", "Hold this call and place a consult call to `target`.",
                (REQ_ID, _call_id(), Field("target", "str", max_chars=MAX_DESTINATION_CHARS)), names_call=True),
        Message("call.complete_transfer", "Join the held call's party with the consult target.",
                (REQ_ID, _call_id("The original (held) call.")), names_call=True),
        Message("sdp.offer", "Renegotiate; with `replace: true` swap the call's peer connection.",
                (REQ_ID, _call_id(), SDP, Field("replace", "bool", required=False)), names_call=True),
        Message("sdp.answer", "Answer to a server `sdp.offer`.", (REQ_ID, _call_id(), SDP), names_call=True),
        Message("ice.candidate", "A trickled ICE candidate of the client.",
                (_call_id(), Field("candidate", "str", max_chars=MAX_CANDIDATE_CHARS),
                 Field("sdp_mid", "str", required=False, nullable=True, max_chars=MAX_ID_CHARS),
                 Field("sdp_m_line_index", "int", required=False, nullable=True)), names_call=True),
        Message("ice.done", "The client has no more candidates.", (_call_id(),), names_call=True),
        Message("call.record", "Start, pause, resume or stop recording the call (both parties); answered by "
                "`call.recording` to both.",
                (REQ_ID, _call_id(), Field("action", "str", max_chars=16, doc="start | pause | resume | stop")),
                names_call=True),
        Message("call.message", "A text to the other party (a scenario's call gets `MessageReceived`, a browser "
                "`call.message`).",
                (REQ_ID, _call_id(), Field("text", "str", max_chars=MAX_MESSAGE_CHARS)), names_call=True),
        Message("agent.state", "A queue agent logs in or out, pauses or is ready again; answered by `agent.state`.",
                (REQ_ID, Field("state", "str", max_chars=16, doc="logged_in | logged_out | paused | ready"),
                 Field("queue", "str", required=False, max_chars=MAX_DESTINATION_CHARS,
                       doc="The queue's number (a `queue` route); all the agent's queues when absent."))),
        Message("ping", "Keep-alive; answered by `pong`.", (REQ_ID,)),
    )
}

SERVER_MESSAGES: dict[str, Message] = {
    m.type: m
    for m in (
        Message("registered", "Authentication succeeded.",
                (Field("extension", "str"), Field("user", "object"),
                 Field("calls", "list", required=False, doc="Live calls re-attached after a reconnect."))),
        Message("call.trying", "The call exists: its `call_id` (this leg) and `uuid` (the call record).",
                (REQ_ID, _call_id(), Field("uuid", "str"))),
        Message("call.incoming", "An incoming call; answer with `call.answer {sdp}`.",
                (_call_id(), Field("uuid", "str"), Field("from", "str"), Field("from_name", "str"),
                 Field("to", "str"), SDP,
                 Field("headers", "object", doc="`X-` headers the caller added (a scenario, a trunk), name -> value; "
                       "`{}` when none."))),
        Message("sdp.answer", "The server's SDP answer.", (_call_id(), SDP, REQ_ID)),
        Message("sdp.offer", "A server offer (renegotiation).", (_call_id(), SDP)),
        Message("ice.candidate", "A server ICE candidate (also present in its SDP).",
                (_call_id(), Field("candidate", "str"), Field("sdp_mid", "str", nullable=True),
                 Field("sdp_m_line_index", "int", nullable=True))),
        Message("call.ringing", "The far side is alerting.", (_call_id(),)),
        Message("call.answered", "The call is connected.",
                (_call_id(), Field("headers", "object", required=False,
                                   doc="`X-` headers the answering side added (a scenario's `answer`)."))),
        Message("call.held", "The call is on hold.", (_call_id(), Field("by", "str", doc="local | remote"))),
        Message("call.resumed", "The call is off hold.", (_call_id(), Field("by", "str", required=False))),
        Message("call.muted", "This side's audio is not forwarded.", (_call_id(),)),
        Message("call.unmuted", "This side's audio is forwarded again.", (_call_id(),)),
        Message("call.dtmf_received", "A digit went through the bridge (to both parties).",
                (_call_id(), Field("digit", "str"))),
        Message("call.recording", "The call's recording changed (to both parties).",
                (REQ_ID, _call_id(), Field("state", "str", doc="recording | paused | stopped"))),
        Message("call.message", "A text from the server side of the call (a scenario's `send_message`).",
                (_call_id(), Field("text", "str"))),
        Message("call.party", "Who is on the line now: this leg's far party changed (a blind transfer moved the "
                "leg to `number`, an attended transfer joined it with the consult's other party).",
                (_call_id(), Field("uuid", "str", doc="The call record the leg is in now (a transfer opens a new one)."),
                 Field("number", "str", doc="The far party's number: an extension, a route, a phone number."),
                 Field("name", "str", doc="The far party's name; `\"\"` when none is known."))),
        Message("agent.state", "The agent's queue state, after `agent.state` or a change by the server.",
                (REQ_ID, Field("state", "str", doc="logged_in | logged_out | paused | ready"),
                 Field("queues", "list", doc="The numbers of the queues the agent is logged in to."))),
        Message("call.ended", "The call is over for this leg.",
                (_call_id(), Field("reason", "str"),
                 Field("headers", "object", required=False, doc="`X-` headers of the side that ended it (a scenario).")
                 )),
        Message("error", "A request failed; nothing else changed.",
                (REQ_ID, Field("call_id", "str", required=False), Field("code", "str"), Field("message", "str"))),
        Message("pong", "Reply to `ping`.", (REQ_ID,)),
    )
}

END_REASONS = ("hangup", "busy", "no-answer", "failed", "transferred", "rejected", "cancelled",
               "answered-elsewhere")


class ProtocolError(Exception):
    """A frame that cannot be acted on; answered with `error` and nothing else changes."""

    def __init__(self, code: str, message: str = "", *, req_id: str | None = None, call_id: str | None = None):
        assert code in PROTOCOL_ERRORS, code
        super().__init__(message or PROTOCOL_ERRORS[code].message)
        self.code = code
        self.message = message or PROTOCOL_ERRORS[code].message
        self.req_id = req_id
        self.call_id = call_id

    def as_frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.req_id is not None:
            frame["req_id"] = self.req_id
        if self.call_id is not None:
            frame["call_id"] = self.call_id
        return frame


@dataclass
class Frame:
    """A validated client frame."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def req_id(self) -> str | None:
        return self.data.get("req_id")

    @property
    def call_id(self) -> str | None:
        return self.data.get("call_id")


_PY_TYPES: dict[FieldType, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "bool": (bool,), "object": (dict,), "list": (list,),
}


def _check_field(spec: Field, value: Any) -> str | None:
    """The problem with one field's value, or None when it is fine."""
    if value is None:
        return None if spec.nullable else f"'{spec.name}' must not be null"
    if not isinstance(value, _PY_TYPES[spec.type]) or (spec.type == "int" and isinstance(value, bool)):
        return f"'{spec.name}' must be of type {spec.type}"
    if spec.max_chars is not None:
        size = len(value) if isinstance(value, str) else len(json.dumps(value))
        if size > spec.max_chars:
            return f"'{spec.name}' is longer than {spec.max_chars} characters"
    return None


def _nesting_depth(raw: str | bytes) -> int:
    """The deepest `{`/`[` nesting outside strings, found before parsing: a deep document would
    otherwise exhaust the parser's recursion. Linear in the frame's size, which is capped."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    if text.count("{") + text.count("[") <= MAX_FRAME_DEPTH:
        return 0  # every ordinary frame: too few brackets to be too deep, no scan needed
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}]":
            depth -= 1
    return deepest


def parse_frame(raw: str | bytes | None, max_bytes: int = MAX_FRAME_BYTES) -> Frame:
    """Parses and validates one client frame; raises ProtocolError with the code to answer."""
    if raw is None:
        raise ProtocolError("invalid_json", "Binary frames are not accepted.")
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise ProtocolError("bad_request", f"The frame is larger than {max_bytes} bytes.")
    if _nesting_depth(raw) > MAX_FRAME_DEPTH:
        raise ProtocolError("invalid_json", f"The frame nests deeper than {MAX_FRAME_DEPTH} levels.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError("invalid_json") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_json")
    req_id = data.get("req_id") if isinstance(data.get("req_id"), str) else None
    call_id = data.get("call_id") if isinstance(data.get("call_id"), str) else None
    msg_type = data.get("type")
    if not isinstance(msg_type, str):
        raise ProtocolError("bad_request", "'type' is missing.", req_id=req_id, call_id=call_id)
    spec = CLIENT_MESSAGES.get(msg_type)
    if spec is None:
        raise ProtocolError("unknown_type", f"Unknown type {msg_type[:40]!r}.", req_id=req_id, call_id=call_id)
    for f in spec.fields:
        if f.name not in data:
            if f.required:
                raise ProtocolError("bad_request", f"'{f.name}' is missing.", req_id=req_id, call_id=call_id)
            continue
        problem = _check_field(f, data[f.name])
        if problem:
            raise ProtocolError("bad_request", problem, req_id=req_id, call_id=call_id)
    known = {f.name for f in spec.fields} | {"type"}
    return Frame(msg_type, {k: v for k, v in data.items() if k in known})
