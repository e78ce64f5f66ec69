"""The native relay (``native/_fastrelay.c``, ``native.routes``): same packets, same bookkeeping as Python.

The packets of these tests are crafted and handed to leg A's ICE connection exactly as its socket
callback does, so the sequence (loss, reordering, a sequence-number wrap, a timestamp jump) is
the same on both paths; what client B receives and what leg A's receiver counted must match the
rules, whichever path carried each packet.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from zorio_widget.media import MediaLeg, aiortc_hook, native
from zorio_widget.media.native import routes as native_routes
from zorio_widget.media.timeline import MAX_FORWARD_JUMP, Timeline

from .conftest import Client, MediaFactory, counter_growth, wait_until, wire_spy

pytestmark = pytest.mark.timeout(20)

START_SEQ = 65530
START_TS = 0xFFFFF000
FRAME = 960


class Injector:
    """Client A's SRTP packets, written by the test, handed to leg A as its socket would."""

    def __init__(self, client: Client, leg: MediaLeg) -> None:
        sender = client.pc.getTransceivers()[0].sender
        self.srtp = sender.transport._tx_srtp
        self.ssrc = sender._ssrc ^ 0x0F0F0F0F  # a fresh SSRC: nothing else was sent on it
        codecs = aiortc_hook.sender_codecs(sender)
        self.payload_type = codecs[0].payloadType if codecs else 111
        self.receive: Any = leg.receiver.transport.transport._connection.data_received

    def send(self, seq: int, ts: int, payload: bytes) -> None:
        packet = RtpPacket(payload_type=self.payload_type, sequence_number=seq & 0xFFFF,
                           timestamp=ts & 0xFFFFFFFF, ssrc=self.ssrc)
        packet.payload = payload
        self.receive(bytes(self.srtp.protect(packet.serialize())), 1)


async def _silent_pair(media: MediaFactory) -> tuple[Client, MediaLeg, Client, MediaLeg]:
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    a.sender.replaceTrack(None)  # client A sends only what the test injects
    await asyncio.sleep(0.1)
    media.bridge.connect(leg_a, leg_b)
    return a, leg_a, b, leg_b


async def test_relayed_stream_and_statistics_match_the_rules(media: MediaFactory, relay_path: str) -> None:
    """A sequence-number wrap, a reordered packet and a timestamp jump beyond MAX_FORWARD_JUMP:
    client B gets every packet once, renumbered consecutively, with the source's timestamp steps
    (the jump becomes the wall-clock gap); leg A's StreamStatistics count as aiortc's would."""
    a, leg_a, b, leg_b = await _silent_pair(media)
    seen = await wire_spy(b)
    inject = Injector(a, leg_a)
    order = [*range(0, 12), 13, 12, *range(14, 20)]
    frames = {i: (START_SEQ + i, START_TS + FRAME * i) for i in order}
    jump = START_TS + FRAME * 20 + 2 * MAX_FORWARD_JUMP
    frames |= {i: (START_SEQ + i, jump + FRAME * (i - 20)) for i in range(20, 26)}
    order += list(range(20, 26))
    payloads = {i: bytes([0xF8, i, 0x55, i]) for i in order}
    forwarded_before, received_before = leg_b.outbound.forwarded, leg_a.packets_received

    inject.send(*frames[0], payloads[0])  # a new SSRC takes aiortc's own path once (routing)
    await wait_until(lambda: leg_a.packets_received == received_before + 1)
    for i in order[1:]:
        inject.send(*frames[i], payloads[i])
        await asyncio.sleep(0.002)
    await wait_until(lambda: sum(p.payload in payloads.values() for p in seen) == len(order))

    got = [p for p in seen if p.payload in payloads.values()]
    index = {payload: i for i, payload in payloads.items()}
    assert [index[p.payload] for p in got] == order
    steps = [(q.sequence_number - p.sequence_number) & 0xFFFF for p, q in zip(got, got[1:], strict=False)]
    assert set(steps) == {1}
    for p, q in zip(got, got[1:], strict=False):
        i, j = index[p.payload], index[q.payload]
        step = (q.timestamp - p.timestamp) & 0xFFFFFFFF
        if j == 20:  # the jump: the far end sees the time that passed, not 20 s
            assert 0 < step < 48000, step
        else:
            assert step == (frames[j][1] - frames[i][1]) & 0xFFFFFFFF
    assert {p.ssrc for p in got} == {leg_b._transceiver.sender._ssrc}

    stats: StreamStatistics = leg_a.receiver._RTCRtpReceiver__remote_streams[inject.ssrc]
    assert stats.packets_received == len(order) == leg_a.packets_received - received_before
    assert (stats.base_seq, stats.max_seq, stats.cycles) == (START_SEQ, (START_SEQ + 25) & 0xFFFF, 1 << 16)
    assert stats.packets_lost == 0 and stats._last_timestamp == frames[25][1] & 0xFFFFFFFF
    assert leg_b.outbound.forwarded - forwarded_before == len(order)
    relayed = native_routes.counters(leg_a)["relayed"]
    if relay_path == "native":
        # all but the first (routing), the one that armed the route and the timestamp jump
        assert relayed >= len(order) - 3, native_routes.counters(leg_a)
    else:
        assert relayed == 0


async def test_changes_send_packets_back_to_python_and_it_rearms(media: MediaFactory) -> None:
    """In-band detection, mute and RFC 4733 events: the Python path takes those packets; the
    native route relays again as soon as the relay is plain again."""
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    media.bridge.connect(leg_a, leg_b)
    digits: list[str] = []
    leg_a.on_dtmf = digits.append

    async def relays_natively(yes: bool) -> None:
        await asyncio.sleep(0.1)  # packets in flight
        grown = counter_growth(leg_a)
        if not yes:
            await asyncio.sleep(0.4)  # the window in which nothing may be relayed natively
        await wait_until(lambda: grown("relayed" if yes else "fallbacks") >= 15)  # not a fixed window
        relayed, fallbacks = grown("relayed"), grown("fallbacks")
        if yes:
            assert relayed >= 15 and fallbacks <= 2, (relayed, fallbacks)
        else:
            assert relayed == 0 and fallbacks >= 15, (relayed, fallbacks)

    await wait_until(lambda: native_routes.route_of(leg_a) is not None)
    await relays_natively(True)

    leg_a.set_inband_dtmf_detection(True)  # audio must reach the detector: Python only
    await relays_natively(False)
    leg_a.set_inband_dtmf_detection(False)
    await relays_natively(True)

    media.bridge.mute(leg_a)
    await relays_natively(False)
    media.bridge.unmute(leg_a)
    await relays_natively(True)

    await a.send_dtmf_event("7", timestamp=123456, pt=a.telephone_event_pt(8000))
    await wait_until(lambda: digits == ["7"])
    await relays_natively(True)

    await leg_a.close()
    assert native_routes.route_of(leg_a) is None


async def test_route_refuses_what_it_cannot_send_to(media: MediaFactory) -> None:
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    media.bridge.connect(leg_a, leg_b)
    await wait_until(lambda: native_routes.route_of(leg_a) is not None)
    route = native_routes.route_of(leg_a)
    direct = route.target
    opus = next(pt for pt, c in leg_a.receiver._RTCRtpReceiver__codecs.items() if c.mimeType.lower() == "audio/opus")
    rx = aiortc_hook.native_ingress_parts(leg_a.receiver, route.ssrc, opus)
    tx = aiortc_hook.native_egress_parts(direct)
    assert rx is not None and tx is not None
    leg_side = {"leg": leg_a.__dict__, "on_packet": leg_a.on_packet}
    timeline = leg_b.outbound.timeline
    track_side = {"timeline": timeline, "source": timeline.source, "key": timeline.last_key,
                  "delays_append": leg_b.outbound.recent_forward_delays_s.append, "max_reorder": 1, "max_jump": 1}
    fr = native.fastrelay
    with pytest.raises(ValueError, match="not a numeric address"):
        fr.SrtpEgress(**(tx | {"remote_host": "localhost"}), **track_side)
    with pytest.raises(ValueError, match="null pointer"):
        fr.SrtpEgress(**(tx | {"tx_ctx": 0}), **track_side)
    with pytest.raises(ValueError, match="null pointer"):
        fr.SrtpIngress(**(rx | {"rx_ctx": 0}), **leg_side)
    with pytest.raises(TypeError):
        fr.SrtpIngress(**(rx | {"receiver": None}), **leg_side)
    with pytest.raises(TypeError, match="must be a Timeline"):
        fr.SrtpEgress(**tx, **(track_side | {"timeline": leg_b.outbound}))
    with pytest.raises(TypeError):
        fr.Route(fr.SrtpEgress(**tx, **track_side), fr.SrtpIngress(**rx, **leg_side))  # sides swapped
    with pytest.raises(ValueError, match="armed ingress and egress"):
        fr.Route(fr.SrtpIngress.__new__(fr.SrtpIngress), fr.SrtpEgress(**tx, **track_side))
    with pytest.raises(TypeError, match="abstract"):
        fr.Ingress()
    spare = fr.Route(fr.SrtpIngress(**rx, **leg_side), fr.SrtpEgress(**tx, **track_side))
    assert spare.armed and spare.target is direct and spare.ssrc == route.ssrc
    spare.disarm()
    assert not spare.armed and spare.target is None and spare.ingress is None


async def test_every_attribute_the_route_uses_exists(media: MediaFactory) -> None:
    """The names compiled into _fastrelay.c are attributes of the live objects it is given, and its
    view of the listener is exactly the ``Timeline`` (every field, nothing else of the track)."""
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    media.bridge.connect(leg_a, leg_b)
    await wait_until(lambda: native_routes.route_of(leg_a) is not None)
    receiver, direct = leg_a.receiver, leg_b.outbound.direct_send
    assert direct is not None
    stats = next(iter(receiver._RTCRtpReceiver__remote_streams.values()))
    assert native.fastrelay.TIMELINE_FIELDS == Timeline.__slots__
    objects = [leg_a, receiver, receiver.transport, direct._sender, direct._dtls, stats]
    for name in native.fastrelay.ATTRIBUTE_NAMES:
        if name == "fileno":
            continue
        holders = [o for o in objects if name in getattr(o, "__dict__", {})] + ([direct] if name == "sequence_number" else [])
        assert holders, f"no object has {name}"
    for name in native_routes.LEG_ATTRIBUTES:
        assert name in leg_a.__dict__, f"MediaLeg.{name}"


def test_native_module_is_built() -> None:
    """CI builds it (`make`); a missing build would silently cost 2-3x the CPU per call."""
    assert native.available()


async def test_armed_connection_sockets_are_read_natively(media: MediaFactory) -> None:
    """Once armed, the connection's sockets are read by _fastrelay.Reader (not asyncio's
    transport); relayed packets never become Python objects, STUN and RTCP still reach aioice
    (the call stays up), and closing the leg unregisters every reader."""
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    media.bridge.connect(leg_a, leg_b)
    await wait_until(lambda: native_routes.route_of(leg_a) is not None)
    loop: Any = asyncio.get_running_loop()
    connection = leg_a.receiver.transport.transport._connection
    fds = [protocol.transport._sock_fd for protocol in connection._protocols]
    readers = [loop._selector.get_key(fd).data[0]._callback for fd in fds]
    assert readers and all(isinstance(r, native.fastrelay.Reader) for r in readers)
    reads, grown = sum(r.reads for r in readers), counter_growth(leg_a)
    await wait_until(lambda: sum(r.reads for r in readers) - reads >= 15 and grown("relayed") >= 15)
    assert sum(r.reads for r in readers) - reads >= 15
    assert grown("relayed") >= 15
    assert leg_a.state == "connected" and leg_b.state == "connected"

    await leg_a.close()
    for fd in fds:
        try:
            key = loop._selector.get_key(fd)
        except (KeyError, ValueError):
            continue
        assert key.data[0] is None or key.data[0]._callback not in readers


async def test_a_route_that_fails_is_dropped_and_python_carries_on(media: MediaFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure inside a route (a bug, not a bad packet) is reported as unraisable, the route
    never acts again, and the Python path relays the following packets and arms a new route."""
    import sys

    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    media.bridge.connect(leg_a, leg_b)
    await wait_until(lambda: native_routes.route_of(leg_a) is not None)
    good = native_routes.route_of(leg_a)
    opus = next(pt for pt, c in leg_a.receiver._RTCRtpReceiver__codecs.items() if c.mimeType.lower() == "audio/opus")
    rx = aiortc_hook.native_ingress_parts(leg_a.receiver, good.ssrc, opus)
    tx = aiortc_hook.native_egress_parts(good.target)
    assert rx is not None and tx is not None

    def broken(_delay: float) -> None:
        raise RuntimeError("bug in a route")

    timeline = leg_b.outbound.timeline
    fr = native.fastrelay
    bad = fr.Route(fr.SrtpIngress(**rx, leg=leg_a.__dict__, on_packet=leg_a.on_packet),
                   fr.SrtpEgress(**tx, timeline=timeline, source=timeline.source, key=timeline.last_key,
                                 delays_append=broken, max_reorder=48000, max_jump=480000))
    aiortc_hook.native_receive(leg_a.receiver).route = bad
    forwarded = leg_b.outbound.forwarded
    await wait_until(lambda: not bad.armed)
    await wait_until(lambda: (route := native_routes.route_of(leg_a)) is not None and route is not bad)
    await wait_until(lambda: leg_b.outbound.forwarded >= forwarded + 20)
    assert reported and isinstance(reported[0].exc_value, RuntimeError)
