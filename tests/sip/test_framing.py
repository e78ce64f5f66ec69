"""TCP framing by Content-Length."""

import pytest

from zorio_widget.sip.framing import PING, FramingError, StreamFramer

MSG = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello"


def test_messages_split_across_and_within_reads() -> None:
    framer = StreamFramer()
    stream = b"\r\n" + MSG + MSG + b"\r\n\r\n" + MSG
    out: list[bytes] = []
    for i in range(0, len(stream), 7):
        out += framer.feed(stream[i:i + 7])
    assert out == [MSG, MSG, PING, MSG]


def test_message_without_length_has_no_body() -> None:
    assert StreamFramer().feed(b"ACK sip:a@b SIP/2.0\r\nVia: x\r\n\r\nINVITE") == [b"ACK sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"]


@pytest.mark.parametrize("data", [
    b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n",
    b"X" * 70000,
])
def test_unframeable_streams_raise(data: bytes) -> None:
    with pytest.raises(FramingError):
        StreamFramer().feed(data)
