"""Helpers for the SIP tests: a recording transaction user on a real loopback transport, and two of
our user agents calling each other (`pair`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from sipmessage import Request, Response

from zorio_widget.media.rtp import PortRange
from zorio_widget.sip import SipCall, TrunkConfig, UserAgent
from zorio_widget.sip.layer import TransactionLayer
from zorio_widget.sip.timers import Timers
from zorio_widget.sip.transaction import ServerTransaction
from zorio_widget.sip.transport import Peer, SipTransport

FAST = Timers(t1=0.02, t2=0.08, t4=0.1)
"Every transaction timer scaled down 25x: Timer B/F/H = 1.28 s."


class RecordingTU:
    """Keeps what the layer hands up; answers new requests with ``answer(tx)`` when set."""

    def __init__(self) -> None:
        self.requests: list[ServerTransaction] = []
        self.acks: list[Request] = []
        self.cancels: list[tuple[ServerTransaction, ServerTransaction]] = []
        self.stray: list[Response] = []
        self.answer: Callable[[ServerTransaction], None] | None = None
        self.event = asyncio.Event()

    def on_request(self, tx: ServerTransaction) -> None:
        self.requests.append(tx)
        if self.answer is not None:
            self.answer(tx)
        self.event.set()

    def on_ack(self, request: Request, peer: Peer) -> None:
        self.acks.append(request)
        self.event.set()

    def on_cancel(self, invite: ServerTransaction, cancel: ServerTransaction) -> None:
        self.cancels.append((invite, cancel))
        cancel.reply(200)
        if not invite.answered:
            invite.reply(487)
        self.event.set()

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        self.stray.append(response)
        self.event.set()


class Wire:
    """Counts and optionally drops what a transport sends (to lose an INVITE, a 401...)."""

    def __init__(self, transport: SipTransport) -> None:
        self.sent: list[bytes] = []
        self.drop: Callable[[bytes], bool] = lambda data: False
        original = transport.send

        def send(data: bytes, peer: Peer) -> None:
            self.sent.append(data)
            if not self.drop(data):
                original(data, peer)

        transport.send = send  # type: ignore[method-assign]

    def lines(self) -> list[str]:
        return [d.split(b"\r\n", 1)[0].decode() for d in self.sent]


class Node:
    def __init__(self, layer: TransactionLayer, tu: RecordingTU, wire: Wire) -> None:
        self.layer, self.tu, self.wire = layer, tu, wire
        self.transport = layer.transport

    def peer(self, transport: str = "udp") -> Peer:
        return Peer(transport, "127.0.0.1", self.transport.port)


async def make_node(timers: Timers = FAST) -> Node:
    transport = SipTransport(lambda d, p: None)
    await transport.start("127.0.0.1", 0)
    tu = RecordingTU()
    layer = TransactionLayer(transport, tu, timers)
    return Node(layer, tu, Wire(transport))


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[Node, Node]]:
    a, b = await make_node(), await make_node()
    yield a, b
    for node in (a, b):
        node.layer.close()
        await node.transport.close()


async def wait_for(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``predicate`` (state spread over several objects: no single event to await)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


class LoseFirst:
    """A ``Wire.drop`` that loses the first ``count`` messages starting with ``prefix``."""

    def __init__(self, prefix: bytes, count: int = 1) -> None:
        self.prefix, self.count, self.seen = prefix, count, 0

    def __call__(self, data: bytes) -> bool:
        if not data.startswith(self.prefix):
            return False
        self.seen += 1
        return self.seen <= self.count


# Two of our user agents calling each other on loopback (test_ua, test_glare); Events is the
# callback log the SIPp and trunk tests use too.


@dataclass
class Events:
    log: list[tuple] = field(default_factory=list)
    incoming: list[tuple[SipCall, str]] = field(default_factory=list)

    def watch(self, call: SipCall) -> SipCall:
        call.on_progress = lambda c, code, early: self.log.append(("progress", code, early))
        call.on_answered = lambda c: self.log.append(("answered",))
        call.on_ended = lambda c, reason, code: self.log.append(("ended", reason, code))
        call.on_hold = lambda c, held: self.log.append(("hold", held))
        call.on_dtmf = lambda c, digit: self.log.append(("dtmf", digit))
        return call

    def names(self) -> list[str]:
        return [e[0] for e in self.log]


async def make_ua(host: str, ports: tuple[int, int], events: Events) -> UserAgent:
    ua = UserAgent(host, 0, timers=FAST, rtp_ports=PortRange(*ports), media_timeout_s=0,
                   on_incoming=lambda call, target: events.incoming.append((events.watch(call), target)))
    await ua.start()
    return ua


@pytest.fixture
async def pair() -> AsyncIterator[tuple[UserAgent, Events, UserAgent, Events]]:
    a_events, b_events = Events(), Events()
    a = await make_ua("127.0.0.1", (41000, 41099), a_events)
    b = await make_ua("127.0.0.1", (41100, 41199), b_events)
    await a.set_trunks([TrunkConfig("t", "acme", "to-b", "127.0.0.1", b.port, keepalive_s=0,
                                    default_caller_id="842800")])
    await b.set_trunks([TrunkConfig("t", "acme", "from-a", "127.0.0.1", a.port, keepalive_s=0,
                                    dids={"+84900": "1001"})])
    yield a, a_events, b, b_events
    await a.close()
    await b.close()
