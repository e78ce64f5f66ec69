"""Cutting a SIP byte stream (TCP) into messages by their ``Content-Length`` (RFC 3261 §18.3).

On a stream the ``Content-Length`` is the only frame boundary: a message without one has an empty
body. CRLFs between messages are skipped; a double CRLF is a keep-alive ping (RFC 5626 §4.4.1) that
the transport answers with one CRLF. Anything that cannot be framed — headers past
``MAX_MESSAGE_BYTES`` without their blank line, a body longer than that, an unreadable length — is
``FramingError``: the stream cannot be resynchronised and the connection is closed.
"""

from __future__ import annotations

import re
from typing import Final

from .message import MAX_MESSAGE_BYTES

PING: Final = b"\r\n\r\n"
PONG: Final = b"\r\n"
_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)\r?$", re.IGNORECASE | re.MULTILINE)


class FramingError(ValueError):
    pass


class StreamFramer:
    """Feed it bytes as they arrive; it returns whole messages (and ``PING`` for each ping)."""

    def __init__(self, limit: int = MAX_MESSAGE_BYTES) -> None:
        self._buffer = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        out: list[bytes] = []
        while True:
            crlfs = 0
            while self._buffer[crlfs:crlfs + 2] == b"\r\n":
                crlfs += 2
            if crlfs:
                if crlfs >= 4:
                    out.append(PING)
                del self._buffer[:crlfs]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > self._limit:
                    raise FramingError("headers exceed the message size limit")
                return out
            head = bytes(self._buffer[:end])
            lengths = _LENGTH.findall(head)
            if len(set(lengths)) > 1:
                raise FramingError("conflicting Content-Length headers")
            try:
                length = int(lengths[0].strip()) if lengths else 0
            except ValueError:
                raise FramingError("unreadable Content-Length") from None
            total = end + 4 + length
            if length < 0 or total > self._limit:
                raise FramingError(f"message of {total} bytes exceeds the size limit")
            if len(self._buffer) < total:
                return out
            out.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
