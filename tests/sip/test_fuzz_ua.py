"""Fuzzing the transaction layer and the user agent behind it with mutated and random messages.

Every datagram goes through ``TransactionLayer.receive`` of a live ``UserAgent`` (a trunk at the
sender's address with one DID, so INVITEs reach the DID, SDP and dialog code). Whatever arrives:
no exception escapes, no error is logged, everything we send back parses, and nothing is left
running afterwards (no call, no transaction once their timers end).
"""

from __future__ import annotations

import asyncio
import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sip.conftest import FAST, wait_for
from zorio_widget.media.rtp import PortRange
from zorio_widget.sip import SipCall, TrunkConfig, UserAgent
from zorio_widget.sip.message import MalformedMessage, parse
from zorio_widget.sip.transport import Peer

SENDER = Peer("udp", "127.0.0.1", 9)  # the discard port: what we answer goes nowhere

SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 9 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")


def request(method: str, to_tag: str = "", body: str = "", cseq: int = 1) -> bytes:
    tag = f";tag={to_tag}" if to_tag else ""
    head = (f"{method} sip:+84900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKfz{cseq}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=ft\r\nTo: <sip:+84900@127.0.0.1>{tag}\r\n"
            f"Call-ID: fuzz@test\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@127.0.0.1:9>\r\n")
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()


SEEDS = [
    request("INVITE", body=SDP), request("INVITE", body=SDP.replace("RTP/AVP 0", "RTP/AVP 18")),
    request("INVITE"), request("BYE", "zz"), request("ACK", "zz", cseq=1), request("CANCEL"),
    request("OPTIONS"), request("INFO", "zz", cseq=3), request("FOO"), request("REGISTER"),
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnone\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
]


class Harness:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sent: list[bytes] = []
        self.errors: list[logging.LogRecord] = []
        self.ua = self.loop.run_until_complete(self._start())

    async def _start(self) -> UserAgent:
        ua = UserAgent("127.0.0.1", 0, timers=FAST, rtp_ports=PortRange(47000, 47999), media_timeout_s=0,
                       on_incoming=self._incoming)
        await ua.start()
        await ua.set_trunks([TrunkConfig("t", "acme", "fuzz", "127.0.0.1", 9, keepalive_s=0,
                                         dids={"+84900": "1001"})])
        original = ua.transport.send

        def send(data: bytes, peer: Peer) -> None:
            self.sent.append(data)
            original(data, peer)
        ua.transport.send = send  # type: ignore[method-assign]
        return ua

    @staticmethod
    def _incoming(call: SipCall, target: str) -> None:
        call.ring()

    def feed(self, datagrams: list[bytes]) -> None:
        async def go() -> None:
            for data in datagrams:
                self.ua.layer.receive(data, SENDER)
                await asyncio.sleep(0)
            await asyncio.sleep(0.01)
        self.loop.run_until_complete(go())


HARNESS: Harness | None = None


def harness() -> Harness:
    global HARNESS
    if HARNESS is None:
        HARNESS = Harness()
    return HARNESS


class _Errors(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        harness().errors.append(record)


def mutate(data: st.DataObject, seed: bytes) -> bytes:
    base = bytearray(seed)
    for _ in range(data.draw(st.integers(0, 6))):
        pos = data.draw(st.integers(0, len(base)))
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip" and pos < len(base):
            base[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del base[pos:pos + data.draw(st.integers(1, 30))]
        else:
            base[pos:pos] = data.draw(st.sampled_from([b"\r\n", b";tag=zz", b"0", b"\r\n\r\n", b" ", b"\xff", b"=",
                                                       b"a=sendonly\r\n", b"c=IN IP4 host.example\r\n"]))
    return bytes(base)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_the_user_agent_never_raises_and_answers_only_valid_sip(data: st.DataObject) -> None:
    h = harness()
    handler = _Errors(level=logging.ERROR)
    logging.getLogger("zorio_widget").addHandler(handler)
    try:
        datagrams = [mutate(data, data.draw(st.sampled_from(SEEDS))) for _ in range(data.draw(st.integers(1, 4)))]
        if data.draw(st.booleans()):
            datagrams.append(data.draw(st.binary(max_size=300)))
        start = len(h.sent)
        h.feed(datagrams)
    finally:
        logging.getLogger("zorio_widget").removeHandler(handler)
    assert h.errors == [], [r.getMessage() for r in h.errors]
    for reply in h.sent[start:]:
        try:
            parse(reply)
        except MalformedMessage as exc:
            raise AssertionError(f"we sent something unparseable ({exc.reason}): {reply[:300]!r}") from None


def test_after_fuzzing_every_call_and_transaction_ends() -> None:
    h = harness()
    h.feed([request("INVITE", body=SDP)])

    async def settle() -> None:
        for call in list(h.ua.calls.values()):
            await call.hangup()
        # Timers H and J end the transactions: waited for (a fixed H + J + 0.5 s is outrun on a loaded machine)
        await wait_for(lambda: not (h.ua.calls or h.ua.layer.clients or h.ua.layer.servers),
                       within=FAST.value("H") + FAST.value("J") + 5)
    h.loop.run_until_complete(settle())
    assert h.ua.calls == {}
    assert h.ua.layer.clients == {} and h.ua.layer.servers == {}
    h.loop.run_until_complete(h.ua.close())
    h.loop.close()
