"""Parsing and building SIP messages: the checks above sipmessage, and fuzzing of both."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sipmessage import Request, Response

from zorio_widget.sip.message import (
    MAX_MESSAGE_BYTES,
    MalformedMessage,
    encode,
    make_cancel,
    make_response,
    parse,
)

INVITE = (
    b"INVITE sip:100@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Al" <sip:a@127.0.0.1>;tag=1\r\n'
    b"To: <sip:100@127.0.0.1>\r\n"
    b"Call-ID: x@y\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Record-Route: <sip:p1@127.0.0.1;lr>\r\n"
    b"Contact: <sip:a@127.0.0.1:5070>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n\r\nv=0\n"
)
RESPONSE = (
    b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:100@127.0.0.1>;tag=2\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\n\r\n"
)


def test_parses_a_request_and_cuts_the_body_to_content_length() -> None:
    message = parse(INVITE + b"trailing junk")
    assert isinstance(message, Request)
    assert message.method == "INVITE" and message.body == b"v=0\n"
    assert message.via[0].parameters["branch"] == "z9hG4bKabc"


def test_folded_header_lines_are_unfolded() -> None:
    folded = INVITE.replace(b"Subject", b"").replace(b"Call-ID: x@y", b"Subject: one\r\n two\r\nCall-ID: x@y")
    message = parse(folded)
    assert message.subject == "one two"


def test_compact_forms() -> None:
    compact = (b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nMax-Forwards: 1\r\n"
               b"t: <sip:c@d>\r\ni: cid\r\nCSeq: 2 OPTIONS\r\nl: 0\r\n\r\n")
    assert parse(compact).call_id == "cid"


@pytest.mark.parametrize(("data", "answer"), [
    (INVITE.replace(b"Content-Length: 4", b"Content-Length: 40"), 400),  # body shorter than announced
    (INVITE.replace(b"CSeq: 1 INVITE\r\n", b""), None),  # a reply could not carry a CSeq
    (INVITE.replace(b"Call-ID: x@y\r\n", b""), None),
    (INVITE.replace(b"From: ", b"X-From: "), None),
    (INVITE.replace(b"Max-Forwards: 70\r\n", b""), 400),  # mandatory, not copied into replies
    (INVITE.replace(b"Contact: <sip:a@127.0.0.1:5070>\r\n", b""), 400),  # an INVITE needs a Contact
    (INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), 400),  # CSeq method differs
    (INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE"), None),  # a reply would copy the broken CSeq
    (INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: many"), 400),
    (INVITE.replace(b";branch=z9hG4bKabc", b""), 400),  # no branch
    (INVITE.replace(b"To: <sip:100@127.0.0.1>", b"To: <<<>"), None),
    (INVITE.replace(b"From: ", b"From: \x00"), None),
    (INVITE.replace(b"Max-Forwards: 70", b"Bogus line without colon"), 400),
    (INVITE.replace(b"Max-Forwards: 70", b"X: " + b"a" * 9000), 400),  # header line too long
    (INVITE.replace(b"To: <sip:100@127.0.0.1>", b"To: <tel:" + b"1-" * 500 + b">"), None),
    (INVITE.replace(b"Subject", b"").replace(b"Contact:", b"Subject: " + b"x" * 9000 + b"\r\nContact:"), 400),
    (INVITE.replace(b"SIP/2.0/UDP", b"SIP/2.0/SCTP"), None),  # cannot be answered over its transport
    (INVITE.replace(b"Via: SIP/2.0/UDP 127.0.0.1:5070", b"Via: garbage"), None),
    (INVITE[:60], None),  # truncated inside the headers
    (RESPONSE.replace(b"CSeq: 1 INVITE\r\n", b""), None),  # responses are never answered
    (RESPONSE.replace(b"180", b"999"), None),
    (b"\xff\xfe garbage\r\n\r\n", None),
    (INVITE + b"x" * MAX_MESSAGE_BYTES, None),  # oversize
])
def test_malformed_messages_say_whether_to_answer(data: bytes, answer: int | None) -> None:
    with pytest.raises(MalformedMessage) as info:
        parse(data)
    assert info.value.answer == answer


def test_hostile_inputs_are_refused_in_linear_time() -> None:
    hostile = [
        INVITE.replace(b"To: <sip:100@127.0.0.1>", b"To: <tel:" + b"1-" * 3000 + b"x>"),
        INVITE.replace(b"Max-Forwards: 70", b"Contact: " + b"<sip:a@b>," * 800 + b"x"),
        INVITE.replace(b"Max-Forwards: 70", b"WWW-Authenticate: Digest " + b'a="b",' * 1300),
    ]
    for data in hostile:
        started = time.perf_counter()
        try:
            message = parse(data)
            message.contact  # noqa: B018
        except (MalformedMessage, ValueError):
            pass
        assert time.perf_counter() - started < 0.2


def test_response_copies_dialog_headers_and_adds_a_to_tag() -> None:
    request = parse(INVITE)
    assert isinstance(request, Request)
    response = make_response(request, 180, to_tag="abc")
    again = parse(encode(response))
    assert isinstance(again, Response) and again.code == 180
    assert again.to_address.parameters["tag"] == "abc"
    assert again.headers["Record-Route"] == "<sip:p1@127.0.0.1;lr>"
    assert again.headers["Via"] == request.headers["Via"]
    trying = make_response(request, 100, to_tag="abc")
    assert "tag" not in trying.to_address.parameters


def test_cancel_matches_its_invite() -> None:
    request = parse(INVITE)
    assert isinstance(request, Request)
    cancel = parse(encode(make_cancel(request)))
    assert cancel.cseq.sequence == 1 and cancel.cseq.method == "CANCEL"
    assert cancel.via[0].parameters["branch"] == "z9hG4bKabc"


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes_never_raise_anything_else(data: bytes) -> None:
    try:
        parse(data)
    except MalformedMessage:
        pass


@FUZZ
@given(st.data())
def test_fuzz_mutated_messages_parse_fully_or_are_malformed(data: st.DataObject) -> None:
    base = bytearray(data.draw(st.sampled_from([INVITE, RESPONSE])))
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = data.draw(st.integers(0, len(base)))
        if op == "flip" and pos < len(base):
            base[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del base[pos:pos + data.draw(st.integers(1, 40))]
        elif op == "insert":
            base[pos:pos] = data.draw(st.sampled_from([b"\r\n", b":", b";", b",", b"<", b">", b'"', b" ", b"\r\n\r\n",
                                                       b"\x00", b"tag=", b"branch=", b"\xc3"]))
        else:
            base[pos:pos] = base[max(0, pos - 30):pos]
    try:
        message = parse(bytes(base))
    except MalformedMessage:
        return
    # what parse accepts, every layer may read without a try
    message.via, message.cseq, message.from_address, message.to_address, message.call_id  # noqa: B018
    encode(message)
