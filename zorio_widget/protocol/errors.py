"""Every error code of Zorio Webphone, in one table: WebSocket, REST and SDK.

A client meets an error on one of three surfaces: the `code` of a WebSocket `error` frame, the
`code` of a REST error body `{"code", "message"}` (with its HTTP status), or the `code` of the SDK's
`ZorioWebphoneError`. Some codes exist on several surfaces (`bad_request`, `server_error`,
`invalid_target`…) with a message fitting each, so an entry is one code *on one surface*.

Everything else is derived from `ERRORS`: `ProtocolError` (zorio_widget/signalling/protocol.py) and the
REST error bodies (zorio_widget/api/errors.py) take their messages and statuses from it, the README's
reference lists it (`python -m zorio_widget.signalling.docs`) and the SDK imports a generated copy
(`python -m zorio_widget.signalling.tsgen` writes frontend/src/generated/errors.ts). This module is on
the protocol floor: it imports nothing from the project.
"""

import re
from dataclasses import dataclass
from typing import Literal

Surface = Literal["ws", "rest", "sdk"]

#: Where each surface's codes appear, as the reference names them.
SURFACES: dict[Surface, str] = {
    "ws": "WebSocket `error.code`",
    "rest": "REST error body `code`",
    "sdk": "`ZorioWebphoneError.code` in the SDK",
}

_CODE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class ErrorCode:
    """One error as a client sees it on one surface."""

    surface: Surface
    #: Stable snake_case identifier: what clients branch on, never renamed.
    code: str
    #: The default text; a request may answer with a more precise one (same code).
    message: str
    #: What the developer or the user can do about it.
    what_to_do: str
    #: REST only: the HTTP status of the response carrying this code.
    http_status: int | None = None

    def __post_init__(self) -> None:
        if not _CODE.fullmatch(self.code):
            raise ValueError(f"error code {self.code!r} is not snake_case")
        if not self.message or not self.what_to_do:
            raise ValueError(f"error code {self.code!r} needs a message and what to do")
        if (self.surface == "rest") != (self.http_status is not None):
            raise ValueError(f"error code {self.code!r}: an HTTP status goes with REST codes, and only with them")
        if self.http_status is not None and not 400 <= self.http_status <= 599:
            raise ValueError(f"error code {self.code!r}: {self.http_status} is not an error status")


def _ws(code: str, message: str, what_to_do: str) -> ErrorCode:
    return ErrorCode("ws", code, message, what_to_do)


def _rest(code: str, http_status: int, message: str, what_to_do: str) -> ErrorCode:
    return ErrorCode("rest", code, message, what_to_do, http_status)


def _sdk(code: str, message: str, what_to_do: str) -> ErrorCode:
    return ErrorCode("sdk", code, message, what_to_do)


ERRORS: tuple[ErrorCode, ...] = (
    # The WebSocket signalling protocol (`error` frames).
    _ws("invalid_json", "The frame is not a JSON object.", "Send one JSON object per text frame."),
    _ws("bad_request", "A field is missing, ill-typed or too long, or the frame is too big.",
        "Check the message against the protocol reference."),
    _ws("unknown_type", "No such message type.", "Use a type from the protocol reference."),
    _ws("unauthorized", "Not authenticated, or the token is invalid or expired.", "Send `auth` with a fresh token."),
    _ws("forbidden", "Not allowed: another tenant's call or a foreign origin.",
        "Only act on your own calls, from an allowed origin."),
    _ws("unknown_call", "No live call with this call_id on this connection.", "Use a call_id you were given."),
    _ws("invalid_target", "The destination or transfer target cannot be dialled.",
        "Use digits, `*`, `#` or a leading `+`."),
    _ws("invalid_dtmf", "DTMF digits must be 0-9, *, #, A-D.", "Remove other characters."),
    _ws("not_incoming", "Only an incoming, ringing call can be answered or rejected.",
        "Answer the `call.incoming` leg."),
    _ws("invalid_state", "The call is not in a state that allows this.", "Check the call's state."),
    _ws("busy", "The target is busy.", "Try again later."),
    _ws("capacity", "This server is at its call capacity.", "Retry later or on another server."),
    _ws("draining", "This server is shutting down and takes no new calls; live calls go on.",
        "Reconnect (the load balancer sends you to another server) and place the call again."),
    _ws("rate_limited", "Too many frames; this one was dropped.", "Slow down."),
    _ws("bad_sdp", "The SDP could not be used (unparseable or without Opus audio).", "Send the browser's own SDP."),
    _ws("server_error", "The server failed on this request (a bug); nothing else changed.",
        "Retry; report it if it happens again."),
    # The REST API under /api/ (JSON bodies `{"code", "message"}`, never HTML).
    _rest("bad_request", 400, "Bad request.", "Check the body and the parameters against the API reference."),
    _rest("unauthorized", 401, "Missing, unknown or revoked credentials.",
          "Send `Authorization: Api-Key KEY` (back-ends) or `Authorization: Bearer TOKEN` (widgets)."),
    _rest("token_expired", 401, "The token has expired.",
          "Mint a new token (`POST /api/webphone/tokens`) or refresh it (`POST /api/webphone/tokens/refresh`)."),
    _rest("forbidden", 403, "Forbidden.",
          "Use a key or token of the resource's tenant, from one of the tenant's allowed origins."),
    _rest("webphone_disabled", 403, "The webphone is disabled for this tenant or extension.",
          "Ask the administrator to enable it."),
    _rest("not_found", 404, "No such API endpoint.", "Check the URL and the ids in it."),
    _rest("method_not_allowed", 405, "This method is not allowed here.", "Use a method listed in the `Allow` header."),
    _rest("invalid_state", 409, "The resource is not in a state that allows this.",
          "Read its state first (e.g. log the agent in before pausing it)."),
    _rest("range_not_satisfiable", 416, "The requested byte range is outside the file.",
          "Ask for bytes within the size given in `Content-Range: bytes */SIZE`."),
    _rest("incomplete_sip_config", 422, "The extension has no number yet.", "Ask the administrator."),
    _rest("rate_limited", 429, "Too many failed attempts.", "Wait the seconds of the `Retry-After` header, then retry."),
    _rest("server_error", 500, "Internal server error.", "Retry; report it if it happens again."),
    _rest("capacity", 503, "The server cannot take another call now.",
          "Retry later; the tenant's or the extension's live-call limit, or the server's capacity, is reached."),
    # The SDK (`ZorioWebphoneError`; a server refusal not listed here keeps its protocol code).
    _sdk("bootstrap_failed", "The webphone could not start (config, network or WebSocket).",
         "Check apiBase, the token and the network; see `details`."),
    _sdk("webphone_disabled", "The webphone is disabled for this extension or tenant.",
         "Ask the administrator to enable it."),
    _sdk("incomplete_sip_config", "The extension has no number yet.", "Ask the administrator."),
    _sdk("invalid_target", "The number cannot be dialled.", "Use digits, *, # or a leading +."),
    _sdk("not_incoming", "Only a ringing incoming call can be answered or rejected.", "Call answer() on incoming calls."),
    _sdk("invalid_dtmf", "DTMF digits must be 0-9, *, #, A-D.", "Remove other characters."),
    _sdk("audio_autoplay_blocked", "The browser blocked sound until the user interacts.",
         "Click the 'enable sound' control."),
    _sdk("audio_device_not_found", "The selected audio device is not available.",
         "Pick a device listed by enumerateDevices(); the previous or default device is used meanwhile."),
    _sdk("microphone_denied", "The browser blocks the microphone for this page.",
         "Allow the microphone for this site (the icon at the left of the address bar), then try again; "
         "a page that embeds the phone in an iframe must also allow it (`allow=\"microphone\"`)."),
    _sdk("audio_output_unsupported", "This browser cannot choose the speaker (no setSinkId): the default one plays.",
         "Choose the speaker in the system's sound settings, or use a Chromium-based browser."),
    _sdk("reconnect_failed", "The connection could not be re-established.", "Retry, or reload the page."),
    _sdk("not_implemented", "This feature is not available on this server.", "Upgrade the server."),
    _sdk("not_bootstrapped", "Call connect() first.", "Await ZorioWebphone.connect()."),
)


def _surface(surface: Surface) -> dict[str, ErrorCode]:
    """One surface's entries by code, in table order; a code listed twice on a surface is a bug."""
    table: dict[str, ErrorCode] = {}
    for entry in ERRORS:
        if entry.surface != surface:
            continue
        if entry.code in table:
            raise ValueError(f"error code {entry.code!r} is listed twice for {surface}")
        table[entry.code] = entry
    return table


#: Codes of the WebSocket `error` frame.
PROTOCOL_ERRORS: dict[str, ErrorCode] = _surface("ws")
#: Codes of REST error bodies, each with its HTTP status.
REST_ERRORS: dict[str, ErrorCode] = _surface("rest")
#: Codes of `ZorioWebphoneError` in the SDK.
SDK_ERRORS: dict[str, ErrorCode] = _surface("sdk")
