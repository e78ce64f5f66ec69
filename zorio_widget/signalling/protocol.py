"""Every message of the WebSocket signalling protocol (DESIGN.md §4), in one table.

Validation of incoming frames, the protocol reference in the README (`python -m
zorio_widget.signalling.docs`) and the TypeScript copy used by the SDK
(`python -m zorio_widget.signalling.tsgen`) are all generated from the tables below.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_FRAME_BYTES = 65536
MAX_SDP_CHARS = 32768
MAX_ID_CHARS = 64
MAX_TOKEN_CHARS = 4096
MAX_DESTINATION_CHARS = 64
MAX_DIGITS = 32
MAX_CANDIDATE_CHARS = 1024
MAX_META_CHARS = 8192
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
                 Field("to", "str"), SDP)),
        Message("sdp.answer", "The server's SDP answer.", (_call_id(), SDP, REQ_ID)),
        Message("sdp.offer", "A server offer (renegotiation).", (_call_id(), SDP)),
        Message("ice.candidate", "A server ICE candidate (also present in its SDP).",
                (_call_id(), Field("candidate", "str"), Field("sdp_mid", "str", nullable=True),
                 Field("sdp_m_line_index", "int", nullable=True))),
        Message("call.ringing", "The far side is alerting.", (_call_id(),)),
        Message("call.answered", "The call is connected.", (_call_id(),)),
        Message("call.held", "The call is on hold.", (_call_id(), Field("by", "str", doc="local | remote"))),
        Message("call.resumed", "The call is off hold.", (_call_id(), Field("by", "str", required=False))),
        Message("call.muted", "This side's audio is not forwarded.", (_call_id(),)),
        Message("call.unmuted", "This side's audio is forwarded again.", (_call_id(),)),
        Message("call.dtmf_received", "A digit went through the bridge (to both parties).",
                (_call_id(), Field("digit", "str"))),
        Message("call.ended", "The call is over for this leg.", (_call_id(), Field("reason", "str"))),
        Message("error", "A request failed; nothing else changed.",
                (REQ_ID, Field("call_id", "str", required=False), Field("code", "str"), Field("message", "str"))),
        Message("pong", "Reply to `ping`.", (REQ_ID,)),
    )
}

END_REASONS = ("hangup", "busy", "no-answer", "failed", "transferred", "rejected", "cancelled",
               "answered-elsewhere")


@dataclass(frozen=True)
class ErrorCode:
    code: str
    message: str
    what_to_do: str


PROTOCOL_ERRORS: dict[str, ErrorCode] = {
    e.code: e
    for e in (
        ErrorCode("invalid_json", "The frame is not a JSON object.", "Send one JSON object per text frame."),
        ErrorCode("bad_request", "A field is missing, ill-typed or too long, or the frame is too big.",
                  "Check the message against the protocol reference."),
        ErrorCode("unknown_type", "No such message type.", "Use a type from the protocol reference."),
        ErrorCode("unauthorized", "Not authenticated, or the token is invalid or expired.",
                  "Send `auth` with a fresh token."),
        ErrorCode("forbidden", "Not allowed: another tenant's call or a foreign origin.",
                  "Only act on your own calls, from an allowed origin."),
        ErrorCode("unknown_call", "No live call with this call_id on this connection.", "Use a call_id you were given."),
        ErrorCode("invalid_target", "The destination or transfer target cannot be dialled.",
                  "Use digits, `*`, `#` or a leading `+`."),
        ErrorCode("invalid_dtmf", "DTMF digits must be 0-9, *, #, A-D.", "Remove other characters."),
        ErrorCode("not_incoming", "Only an incoming, ringing call can be answered or rejected.",
                  "Answer the `call.incoming` leg."),
        ErrorCode("invalid_state", "The call is not in a state that allows this.", "Check the call's state."),
        ErrorCode("busy", "The target is busy.", "Try again later."),
        ErrorCode("capacity", "This server is at its call capacity.", "Retry later or on another server."),
        ErrorCode("rate_limited", "Too many frames; this one was dropped.", "Slow down."),
        ErrorCode("bad_sdp", "The SDP could not be used (unparseable or without Opus audio).",
                  "Send the browser's own SDP."),
        ErrorCode("server_error", "The server failed on this request (a bug); nothing else changed.",
                  "Retry; report it if it happens again."),
    )
}

#: Codes of `ZorioWebphoneError` in the SDK (DESIGN.md §5), with the same shape.
SDK_ERRORS: dict[str, ErrorCode] = {
    e.code: e
    for e in (
        ErrorCode("bootstrap_failed", "The webphone could not start (config, network or WebSocket).",
                  "Check apiBase, the token and the network; see `details`."),
        ErrorCode("webphone_disabled", "The webphone is disabled for this extension or tenant.",
                  "Ask the administrator to enable it."),
        ErrorCode("incomplete_sip_config", "The extension has no number yet.", "Ask the administrator."),
        ErrorCode("invalid_target", "The number cannot be dialled.", "Use digits, *, # or a leading +."),
        ErrorCode("not_incoming", "Only a ringing incoming call can be answered or rejected.",
                  "Call answer() on incoming calls."),
        ErrorCode("invalid_dtmf", "DTMF digits must be 0-9, *, #, A-D.", "Remove other characters."),
        ErrorCode("audio_autoplay_blocked", "The browser blocked sound until the user interacts.",
                  "Click the 'enable sound' control."),
        ErrorCode("audio_device_not_found", "The selected audio device is not available.",
                  "Pick a device listed by enumerateDevices(); the previous or default device is used meanwhile."),
        ErrorCode("reconnect_failed", "The connection could not be re-established.", "Reload or call connect()."),
        ErrorCode("not_implemented", "This feature is not available on this server.", "Upgrade the server."),
        ErrorCode("not_bootstrapped", "Call connect() first.", "Await ZorioWebphone.connect()."),
    )
}


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
