"""The native relay on trunk legs (``native/rtp_side.c``, ``rtp.relay``): same packets, same
bookkeeping as the Python path, in both directions of a browser <-> trunk call.

A real aiortc peer is the browser (its SRTP keys, its decoder: what it receives went through a
real SRTP protect), real ``RtpSession``s on loopback are our trunk leg and the carrier. Packets of
the carrier are written by the test and sent from the carrier's own socket, so the sequence (a
sequence-number wrap, a timestamp wrap, a reordered packet, RFC 4733 events in the middle) is the
same on both paths; the browser's packets are handed to its leg's ICE connection exactly as its
socket callback does (``tests.media.test_native.Injector``). Each test runs on the native path and
on the Python path (``relay_path``), whose results must match the same rules.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.media.conftest import Client, counter_growth, wait_until, wire_spy
from tests.media.rtp.conftest import tone_payloads
from tests.media.test_native import Injector
from zorio_widget.media import MediaLeg, native
from zorio_widget.media.aiortc_hook import ReceivedPacket
from zorio_widget.media.bridge import Bridge
from zorio_widget.media.native import routes as native_routes
from zorio_widget.media.rtp import PortRange, RtpLeg, RtpSession
from zorio_widget.media.rtp.sender import MAX_FORWARD_JUMP
from zorio_widget.media.rtp.state import SessionState, StreamState

pytestmark = pytest.mark.timeout(30)

G711_FIRST = ("pcmu", "pcma", "opus")
START_SEQ = 65530
START_TS = 0xFFFFFF00
FRAME = 160
CARRIER_SSRC = 0x11223344


@dataclass
class TrunkCall:
    """A browser on PCMU connected by the bridge to a trunk leg whose far end is ``carrier``."""

    bridge: Bridge
    client: Client
    browser: MediaLeg
    trunk: RtpLeg
    carrier: RtpSession
    heard_by_carrier: list[ReceivedPacket]

    @property
    def ours(self) -> RtpSession:
        return self.trunk.session

    def send_from_carrier(self, seq: int, ts: int, payload: bytes, payload_type: int = 0, marker: bool = False,
                          ssrc: int = CARRIER_SSRC) -> None:
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
        transport = self.carrier.transport
        assert transport is not None
        transport.sendto(header + payload, ("127.0.0.1", self.ours.local_port))


@pytest.fixture
async def call(relay_path: str) -> AsyncIterator[TrunkCall]:
    ports = PortRange(47000, 47099)
    ours = RtpSession(ports, local_address="127.0.0.1", leg_id="trunk", media_timeout_s=0)
    carrier = RtpSession(ports, local_address="127.0.0.1", leg_id="carrier", media_timeout_s=0)
    await ours.open()
    await carrier.open()
    carrier.accept_answer(ours.accept_offer(carrier.create_offer()))
    heard: list[ReceivedPacket] = []
    carrier.on_packet = lambda _s, packet: heard.append(packet)
    client, browser = Client(0.0), MediaLeg("browser")
    browser.prefer_codecs(G711_FIRST)
    await client.call(browser)
    await wait_until(lambda: browser.state == "connected")
    assert browser.audio_codec == "pcmu"
    client.sender.replaceTrack(None)  # the browser sends only what a test injects
    trunk, bridge = RtpLeg(ours, "trunk"), Bridge()
    bridge.connect(browser, trunk)
    await asyncio.sleep(0.1)
    yield TrunkCall(bridge, client, browser, trunk, carrier, heard)
    await client.close()
    await browser.close()
    await trunk.close()
    await carrier.close()


def _relayed(leg: Any) -> int:
    return native_routes.counters(leg)["relayed"]


async def test_carrier_to_browser_renumbered_and_protected(call: TrunkCall, relay_path: str) -> None:
    """The carrier's PCMU, with a sequence wrap, a timestamp wrap, a reordered pair and RFC 4733
    events in the middle: the browser decrypts every audio packet once, renumbered consecutively
    on its leg's SSRC, with the carrier's timestamp steps; the digits reach the call (Python path)
    and the audio after them stays native."""
    seen = await wire_spy(call.client)
    digits: list[str] = []
    call.ours.on_dtmf = digits.append  # (a SipCall hands them to the call)
    order = [*range(0, 10), 11, 10, *range(12, 30)]
    payloads = {i: bytes([0xFF - i]) * 159 + bytes([i]) for i in order}
    for n, i in enumerate(order):
        call.send_from_carrier(START_SEQ + i, START_TS + FRAME * i, payloads[i])
        if n == 15:  # a digit ("5"), as a carrier sends it: the audio's SSRC, payload type 101
            for k, (end, duration) in enumerate([(False, 160), (False, 320), (True, 480), (True, 480)]):
                event = struct.pack("!BBH", 5, (0x80 if end else 0) | 10, duration)
                call.send_from_carrier(START_SEQ + 100 + k, START_TS + FRAME * 15, event, payload_type=101,
                                       marker=k == 0)
        await asyncio.sleep(0.003)
    await wait_until(lambda: sum(p.payload in payloads.values() for p in seen) == len(order))

    got = [p for p in seen if p.payload in payloads.values()]
    index = {payload: i for i, payload in payloads.items()}
    assert [index[p.payload] for p in got] == order
    assert {(q.sequence_number - p.sequence_number) & 0xFFFF for p, q in zip(got, got[1:], strict=False)} == {1}
    for p, q in zip(got, got[1:], strict=False):
        i, j = index[p.payload], index[q.payload]
        assert (q.timestamp - p.timestamp) & 0xFFFFFFFF == (FRAME * (j - i)) & 0xFFFFFFFF
    assert {p.ssrc for p in got} == {call.browser._transceiver.sender._ssrc}
    assert {p.payload_type for p in got} == {0}
    await wait_until(lambda: digits == ["5"])
    assert call.ours.packets_received == len(order) + 4 and call.ours.dropped == 0
    assert call.browser.outbound.forwarded >= len(order)
    relayed = _relayed(call.trunk)
    if relay_path == "native":
        # all but the first (it armed the route) and the reordered one (Python's: a step back)
        assert relayed >= len(order) - 2, native_routes.counters(call.trunk)
        assert native_routes.counters(call.trunk)["fallbacks"] >= 4  # the events: Python's
    else:
        assert relayed == 0


async def test_browser_to_carrier_renumbered_in_plain_rtp(call: TrunkCall, relay_path: str) -> None:
    """The browser's PCMU (SRTP), with a sequence wrap and a timestamp jump beyond 10 s: the
    carrier gets every payload once in plain RTP on our stream's SSRC, sequence numbers
    consecutive, the browser's timestamp steps kept; the jump is a new talkspurt (marker, the
    wall-clock gap)."""
    inject = Injector(call.client, call.browser)
    order = list(range(24))
    stamps = {i: START_TS + FRAME * i for i in range(16)}
    stamps |= {i: START_TS + FRAME * 16 + 2 * MAX_FORWARD_JUMP + FRAME * (i - 16) for i in range(16, 24)}
    payloads = {i: bytes([i]) * 100 + bytes([0x7F]) * 60 for i in order}
    for i in order:
        inject.send(START_SEQ + i, stamps[i], payloads[i])
        await asyncio.sleep(0.003)
    await wait_until(lambda: sum(p.payload in payloads.values() for p in call.heard_by_carrier) == len(order))

    got = [p for p in call.heard_by_carrier if p.payload in payloads.values()]
    index = {payload: i for i, payload in payloads.items()}
    assert [index[p.payload] for p in got] == order
    assert {(q.sequence_number - p.sequence_number) & 0xFFFF for p, q in zip(got, got[1:], strict=False)} == {1}
    assert {p.ssrc for p in got} == {call.ours.outbound.ssrc} and {p.payload_type for p in got} == {0}
    for p, q in zip(got, got[1:], strict=False):
        step = (q.timestamp - p.timestamp) & 0xFFFFFFFF
        if index[q.payload] == 16:  # the jump: the time that passed, never 20 s
            assert q.marker and 0 < step < 8000, step
        else:
            assert step == FRAME and not q.marker
    relayed = _relayed(call.browser)
    if relay_path == "native":
        # all but the first two (routing by aiortc, arming) and the jump
        assert relayed >= len(order) - 3, native_routes.counters(call.browser)
    else:
        assert relayed == 0


async def _relays_natively(leg: Any, yes: bool, relay_path: str) -> None:
    """Until 15 packets were relayed natively (not a fixed window a loaded machine can come short
    of), or none over the next 0.4 s."""
    await asyncio.sleep(0.1)  # packets in flight
    grown = counter_growth(leg)
    if yes and relay_path == "native":
        await wait_until(lambda: grown("relayed") >= 15)
    else:
        await asyncio.sleep(0.4)
    relayed, fallbacks = grown("relayed"), grown("fallbacks")
    if yes and relay_path == "native":
        assert relayed >= 15 and fallbacks <= 2, (relayed, fallbacks)
    else:
        assert relayed == 0, (relayed, fallbacks)


async def test_taps_mute_hold_and_dtmf_keep_their_behaviour(call: TrunkCall, relay_path: str) -> None:
    """A recording tap on the trunk leg sees every payload on the native path too; mute, hold and
    DTMF to the carrier send packets back to Python, and the route comes back afterwards."""
    tapped: list[int] = []
    call.bridge.add_tap(call.trunk, lambda _payload, ts: tapped.append(ts))
    call.carrier.outbound.play_once(tone_payloads(700.0, 6.0))  # the carrier talks, paced at 20 ms
    inject = Injector(call.client, call.browser)

    async def browser_talks() -> None:
        for i in range(300):
            inject.send(i, FRAME * i, b"\xff" * 160)
            await asyncio.sleep(0.02)

    talking = asyncio.ensure_future(browser_talks())
    try:
        await wait_until(lambda: len(tapped) > 10)
        await _relays_natively(call.trunk, True, relay_path)
        await _relays_natively(call.browser, True, relay_path)
        before = len(tapped)
        await wait_until(lambda: len(tapped) - before >= 10)  # rather than a fixed 0.3 s
        assert len(tapped) - before >= 10  # the tap is called on whichever path carries the packet

        call.bridge.mute(call.trunk)
        await _relays_natively(call.trunk, False, relay_path)
        call.bridge.unmute(call.trunk)
        await _relays_natively(call.trunk, True, relay_path)

        call.bridge.hold(call.browser)  # the carrier hears music, the browser silence: nothing relayed
        await _relays_natively(call.trunk, False, relay_path)
        await _relays_natively(call.browser, False, relay_path)
        call.bridge.unhold(call.browser)
        await _relays_natively(call.trunk, True, relay_path)
        await _relays_natively(call.browser, True, relay_path)

        carrier_digits: list[str] = []
        call.carrier.on_dtmf = carrier_digits.append
        await call.bridge.send_dtmf(call.trunk, "42")
        await wait_until(lambda: carrier_digits == ["4", "2"])
        await _relays_natively(call.browser, True, relay_path)
    finally:
        talking.cancel()


async def test_a_stray_source_and_a_second_listener_go_back_to_python(call: TrunkCall, relay_path: str) -> None:
    """A packet of the carrier's SSRC from another address is dropped (latching is Python's) while
    the route relays on; a second listener of the trunk leg disarms its route until it leaves."""
    call.carrier.outbound.play_once(tone_payloads(700.0, 4.0))
    await wait_until(lambda: call.ours.latched)
    await _relays_natively(call.trunk, True, relay_path)
    seen = await wire_spy(call.client)
    dropped = call.ours.dropped
    stream = call.carrier.outbound.stream  # the carrier's own: the SSRC the route takes
    stray = struct.pack("!BBHII", 0x80, 0, (stream.seq + 1) & 0xFFFF, (stream.ts + FRAME) & 0xFFFFFFFF, stream.ssrc)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as intruder:
        intruder.sendto(stray + b"\x42" * 160, ("127.0.0.1", call.ours.local_port))
        await wait_until(lambda: call.ours.dropped > dropped)  # rather than a fixed 0.1 s
    assert call.ours.dropped > dropped and not any(p.payload == b"\x42" * 160 for p in seen)
    assert call.ours.remote_address == ("127.0.0.1", call.carrier.local_port)
    await _relays_natively(call.trunk, True, relay_path)

    other = RtpLeg(RtpSession(PortRange(47100, 47199), local_address="127.0.0.1", media_timeout_s=0))
    await other.session.open()
    try:
        call.bridge.listen(other, call.trunk)
        assert native_routes.route_of(call.trunk) is None
        await _relays_natively(call.trunk, False, relay_path)
        call.bridge.stop_listening(other)
        await _relays_natively(call.trunk, True, relay_path)
    finally:
        await other.close()


async def test_a_trunk_leg_echo_runs_natively_and_closing_releases_everything(call: TrunkCall, relay_path: str) -> None:
    """``*43`` on a trunk leg (RtpIngress to RtpEgress): the carrier hears itself; closing the leg
    disarms the route and gives the socket back to asyncio's reader."""
    call.bridge.echo(call.trunk)
    call.carrier.outbound.play_once(tone_payloads(700.0, 3.0))
    await wait_until(lambda: len(call.heard_by_carrier) > 20)
    await _relays_natively(call.trunk, True, relay_path)
    if relay_path == "native":
        route = native_routes.route_of(call.trunk)
        assert route is not None and route.target is call.ours.outbound.stream
        assert isinstance(route.ingress, native.fastrelay.RtpIngress)
        assert isinstance(route.egress, native.fastrelay.RtpEgress)
        loop: Any = asyncio.get_running_loop()
        transport = call.ours.transport
        assert transport is not None
        fd = transport._sock_fd  # type: ignore[attr-defined]
        assert isinstance(loop._selector.get_key(fd).data[0]._callback, native.fastrelay.Reader)
    await call.trunk.close()
    assert native_routes.route_of(call.trunk) is None and call.ours.native_receive is None


def test_the_route_sees_exactly_the_shared_state() -> None:
    """The fields compiled into rtp_side.c are the slots of the two objects it is given."""
    assert native.fastrelay.SESSION_FIELDS == SessionState.__slots__
    assert native.fastrelay.STREAM_FIELDS == StreamState.__slots__


async def test_the_route_refuses_what_it_cannot_take() -> None:
    ports = PortRange(47200, 47299)
    session = RtpSession(ports, local_address="127.0.0.1", media_timeout_s=0)
    await session.open()
    try:
        shared, stream = session.shared, session.outbound.stream
        fr = native.fastrelay
        with pytest.raises(TypeError, match="must be a SessionState"):
            fr.RtpIngress(session=stream, on_packet=print, remote=("127.0.0.1", 4000), codec=None,
                          state="connected", ssrc=1, payload_type=0)
        with pytest.raises(ValueError, match="not a numeric address"):
            fr.RtpIngress(session=shared, on_packet=print, remote=("localhost", 4000), codec=None,
                          state="connected", ssrc=1, payload_type=0)
        with pytest.raises(TypeError, match="must be a StreamState"):
            fr.RtpEgress(stream=shared, session=shared, source=stream.source, key=("a", 1), codec=stream.codec,
                         remote=("127.0.0.1", 4000), sock=object(), payload_type=0, max_jump=80000)
        egress = fr.RtpEgress(stream=stream, session=shared, source=stream.source, key=("a", 1), codec=stream.codec,
                              remote=("127.0.0.1", 4000), sock=object(), payload_type=0, max_jump=80000)
        assert egress.armed and egress.target is stream
    finally:
        await session.close()
