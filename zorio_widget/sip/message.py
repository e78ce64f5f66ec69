"""SIP messages: ``sipmessage`` objects, checked before any layer above sees them.

``sipmessage`` (0.7.1) parses the start line and the typed headers; this module adds what a
network-facing element needs on top of it (RFC 3261 §7, §8.1.1, §18.3):

- a size limit (``MAX_MESSAGE_BYTES``) and header-line folding;
- the body cut to ``Content-Length`` (a UDP datagram shorter than it is malformed; a TCP stream
  is framed by it, ``framing.py``);
- the mandatory headers present and parseable (Via with a branch, From, To, Call-ID, CSeq whose
  method matches the request's), so every layer above may read them without a ``try``;
- ``MalformedMessage`` with the answer a request deserves (400) and the raw headers needed to send
  it, or nothing when the message cannot be answered (a response, no usable Via): it is dropped.

Building: ``new_request`` / ``make_response`` copy the headers RFC 3261 §8.2.6 and §12.1.1 say
must be copied; ``encode`` sets ``Content-Length`` to the body's real length.
"""

from __future__ import annotations

import re
import secrets
import weakref
from typing import Final

from sipmessage import URI, Address, CSeq, Headers, Message, Request, Response, Via

MAX_MESSAGE_BYTES: Final = 65536
"A message (headers and body) larger than 64 KiB is dropped, never parsed."
BRANCH_MAGIC: Final = "z9hG4bK"
"RFC 3261 §8.1.1.7: a branch starting with this cookie was made by an RFC 3261 element."
MAX_LINE_BYTES: Final = 8192
"A longer header line is refused (400): sipmessage's list parsers grow faster than linearly."
MAX_TEL_NUMBER_CHARS: Final = 64
"sipmessage's tel: URI pattern backtracks quadratically: longer numbers are refused before it runs."
MANDATORY_HEADERS: Final = ("Via", "From", "To", "Call-ID", "CSeq")
"""Headers every request and response must carry for us to handle it (RFC 3261 §8.1.1). A reply
copies them: a request missing one cannot be answered and is dropped. A request missing the other
mandatory ones (Max-Forwards; Contact in an INVITE) gets 400."""

REASONS: Final[dict[int, str]] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
    200: "OK", 202: "Accepted",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    407: "Proxy Authentication Required", 408: "Request Timeout", 413: "Request Entity Too Large",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
    483: "Too Many Hops", 484: "Address Incomplete", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error", 501: "Not Implemented",
    503: "Service Unavailable", 504: "Server Time-out", 513: "Message Too Large", 600: "Busy Everywhere",
    603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}

_FOLD = re.compile(rb"\r\n[ \t]+")
_HEADER_END = b"\r\n\r\n"
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_CALL_ID = re.compile(r"[\x21-\x7e]{1,256}")
_LONG_TEL = re.compile(rb"tel:[^;>,\s]{%d}" % MAX_TEL_NUMBER_CHARS, re.IGNORECASE)


class MalformedMessage(ValueError):
    """A message we will not process. ``answer`` is the status to reply with, or ``None`` to drop.

    ``headers`` holds the raw Via/From/To/Call-ID/CSeq lines when a reply can be addressed.
    """

    def __init__(self, reason: str, answer: int | None = None, headers: Headers | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answer = answer
        self.headers = headers


def new_branch() -> str:
    """A fresh Via branch (RFC 3261 §8.1.1.7): the magic cookie and 96 random bits."""
    return BRANCH_MAGIC + secrets.token_hex(12)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


def parse(data: bytes) -> Request | Response:
    """Parse one whole message (a datagram, or one frame of a stream) or raise ``MalformedMessage``."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    head, sep, body = data.partition(_HEADER_END)
    if not sep:
        raise MalformedMessage("no empty line after the headers (truncated)")
    head = _FOLD.sub(b" ", head)
    if _LONG_TEL.search(head):  # dropped: even addressing a reply would parse the number
        raise MalformedMessage(f"tel: number longer than {MAX_TEL_NUMBER_CHARS} characters")
    if any(len(line) > MAX_LINE_BYTES for line in head.split(b"\r\n")):
        raise MalformedMessage("header line too long", *_answerable(head))
    try:
        message = Message.parse(head + _HEADER_END)
    except (ValueError, IndexError, KeyError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedMessage(f"unparseable: {exc}", *_answerable(head)) from None
    is_request = isinstance(message, Request)
    try:
        _check_headers(message)
        length = message.content_length
    except (ValueError, KeyError) as exc:
        raise MalformedMessage(f"bad header: {exc}", *_answerable(head)) from None
    if length is None:
        message.body = body
    elif length < 0 or length > len(body):
        raise MalformedMessage(
            f"Content-Length {length} but {len(body)} body bytes", 400 if is_request else None, message.headers
        )
    else:
        message.body = body[:length]
    return message


def _answerable(head: bytes) -> tuple[int | None, Headers | None]:
    """For a request that failed to parse: whether a 400 can be addressed (usable Via, CSeq...)."""
    try:
        text = head.decode("utf-8")
        lines = text.split("\r\n")
        if lines[0].startswith("SIP/"):
            return None, None
        headers = Headers()
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                continue
            name = name.strip()
            canonical = _COMPACT.get(name.lower(), name)
            if canonical.lower() in _MANDATORY_LOWER:
                headers.add(_CANONICAL[canonical.lower()], value.strip())
        _check_reply_headers(headers)
        return 400, headers
    except (ValueError, KeyError, IndexError):
        return None, None


_COMPACT: Final = {"v": "Via", "f": "From", "t": "To", "i": "Call-ID"}
_MANDATORY_LOWER: Final = {h.lower() for h in MANDATORY_HEADERS}
_CANONICAL: Final = {h.lower(): h for h in MANDATORY_HEADERS}


def _check_reply_headers(headers: Headers) -> None:
    """What a reply needs: a top Via that parses, and From/To/Call-ID/CSeq present."""
    for name in MANDATORY_HEADERS:
        if not headers.get(name):
            raise KeyError(f"missing {name}")
    vias = Via.parse_many(headers.getlist("Via")[0])
    if not vias or vias[0].transport.upper() not in ("UDP", "TCP"):
        raise ValueError("unusable Via")
    # a reply copies these: if one is broken, the reply would be as malformed as the request
    Address.parse(headers["From"])
    Address.parse(headers["To"])
    CSeq.parse(headers["CSeq"])
    if not _CALL_ID.fullmatch(headers["Call-ID"]):
        raise ValueError("unusable Call-ID")


def _check_headers(message: Request | Response) -> None:
    for name in MANDATORY_HEADERS:
        if message.headers.get(name) is None:
            raise KeyError(f"missing {name}")
    vias = message.via
    if not vias:
        raise ValueError("no Via")
    message.from_address  # noqa: B018 - parse or raise
    message.to_address  # noqa: B018
    cseq = message.cseq
    if not message.call_id.strip():
        raise ValueError("empty Call-ID")
    if cseq.sequence >= 2**31:
        raise ValueError("CSeq number too large")
    message.max_forwards  # noqa: B018 - an int when present
    if isinstance(message, Request):
        if message.max_forwards is None:
            raise ValueError("missing Max-Forwards")
        if message.method == "INVITE" and not message.contact:
            raise ValueError("INVITE without Contact")
        if not _TOKEN.fullmatch(message.method):
            raise ValueError("method is not a token")
        if cseq.method != message.method:
            raise ValueError("CSeq method differs from the request's")
        branch = vias[0].parameters.get("branch")
        if not branch:
            raise ValueError("top Via has no branch")
        if vias[0].transport.upper() not in ("UDP", "TCP"):
            raise ValueError(f"unsupported transport {vias[0].transport}")
    elif not 100 <= message.code <= 699:
        raise ValueError(f"status {message.code} out of range")


def encode(message: Request | Response) -> bytes:
    """The wire form, with ``Content-Length`` equal to the body's length."""
    message.headers.set("Content-Length", str(len(message.body)))
    return bytes(message)


def reason_phrase(code: int) -> str:
    return REASONS.get(code, "Unknown")


def make_response(
    request: Request, code: int, reason: str | None = None, *, to_tag: str | None = None
) -> Response:
    """A response to ``request`` (RFC 3261 §8.2.6): Via, From, Call-ID, CSeq copied, To with ``to_tag``
    added when it has none (and the code is not 100). Record-Route is copied for dialog-forming codes."""
    response = Response(code, reason or reason_phrase(code))
    return _copy_reply_headers(response, request.headers, request.method, code, to_tag)


_LOCAL: Final[weakref.WeakSet[Response]] = weakref.WeakSet()


def local_response(request: Request, code: int) -> Response:
    """A response our side makes up for its TU (RFC 3261 §8.1.3.1: 408 on a timeout, 503 when the
    transport fails): it never came from the network, ``is_local`` says so."""
    response = make_response(request, code)
    _LOCAL.add(response)
    return response


def is_local(response: Response) -> bool:
    return response in _LOCAL


def make_response_from_headers(headers: Headers, code: int, reason: str | None = None) -> Response:
    """A response addressed from raw headers only (a request too broken to parse)."""
    response = Response(code, reason or reason_phrase(code))
    return _copy_reply_headers(response, headers, "", code, new_tag())


def _copy_reply_headers(
    response: Response, headers: Headers, method: str, code: int, to_tag: str | None
) -> Response:
    response.headers.setlist("Via", list(headers.getlist("Via")))
    response.headers.set("From", headers["From"])
    to = headers["To"]
    if to_tag and code != 100 and ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={to_tag}"
    response.headers.set("To", to)
    response.headers.set("Call-ID", headers["Call-ID"])
    response.headers.set("CSeq", headers["CSeq"])
    if method in ("INVITE", "SUBSCRIBE") and 100 < code < 300:
        for value in headers.getlist("Record-Route"):
            response.headers.add("Record-Route", value)
    return response


def new_request(
    method: str,
    uri: URI,
    *,
    from_address: Address,
    to_address: Address,
    call_id: str,
    cseq: int,
    via: Via,
    contact: Address | None = None,
    route: list[Address] | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    user_agent: str = "",
) -> Request:
    """A request with the headers of RFC 3261 §8.1.1 in their usual order."""
    request = Request(method, uri, body)
    request.via = [via]
    request.max_forwards = 70
    if route:
        request.route = route
    request.from_address = from_address
    request.to_address = to_address
    request.call_id = call_id
    request.cseq = CSeq(cseq, method)
    if contact is not None:
        request.contact = [contact]
    if user_agent:
        request.user_agent = user_agent
    if content_type:
        request.headers.set("Content-Type", content_type)
    return request


def tag_of(address: Address) -> str | None:
    return address.parameters.get("tag")


def top_via(message: Request | Response) -> Via:
    return message.via[0]


def sent_by(via: Via) -> str:
    """The Via's sent-by as a matching key (RFC 3261 §17.2.3), default port 5060."""
    return f"{via.host.lower()}:{via.port or 5060}"


def make_cancel(invite: Request) -> Request:
    """The CANCEL of a pending INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, From, To, CSeq
    number, Route, and the INVITE's top Via (so it matches the INVITE's transaction)."""
    return _same_transaction(invite, "CANCEL", invite.headers["To"])


def make_non2xx_ack(invite: Request, response: Response) -> Request:
    """The ACK of a non-2xx final response (RFC 3261 §17.1.1.3): like a CANCEL, but with the
    response's To (its tag)."""
    return _same_transaction(invite, "ACK", response.headers["To"])


def _same_transaction(invite: Request, method: str, to: str) -> Request:
    request = Request(method, invite.uri)
    request.headers.setlist("Via", [invite.headers.getlist("Via")[0]])
    for route in invite.headers.getlist("Route"):
        request.headers.add("Route", route)
    request.max_forwards = 70
    request.headers.set("From", invite.headers["From"])
    request.headers.set("To", to)
    request.call_id = invite.call_id
    request.cseq = CSeq(invite.cseq.sequence, method)
    return request
