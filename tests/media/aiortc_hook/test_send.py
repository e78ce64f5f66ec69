"""The send path (``aiortc_hook.send``): the copied sender loop and ``DirectSend``, one RTP stream."""

from __future__ import annotations

import asyncio

import pytest

from zorio_widget.media import aiortc_hook
from zorio_widget.media.aiortc_hook import inventory, send, tripwire
from zorio_widget.media.native import routes as native_routes

from ..conftest import MediaFactory, wait_until, wire_spy

pytestmark = pytest.mark.timeout(15)


async def test_sender_loop_is_replaced_and_remembers_the_negotiated_codecs(media: MediaFactory) -> None:
    from aiortc import RTCRtpSender

    client, leg = await media.pair(500.0)
    assert RTCRtpSender._run_rtp is send._run_rtp and RTCRtpSender.send is send._send
    sender = leg._pc.getSenders()[0]
    for attr in inventory.SENDER_ATTRS:
        assert hasattr(sender, attr), attr
    await wait_until(lambda: aiortc_hook.sender_codecs(sender) is not None)
    codecs = aiortc_hook.sender_codecs(sender) or []
    assert codecs[0].mimeType == "audio/opus"
    events = {c.clockRate: c.payloadType for c in codecs if c.mimeType == "audio/telephone-event"}
    assert events == {8000: client.telephone_event_pt(8000), 48000: client.telephone_event_pt(48000)}
    assert leg.telephone_event == (events[8000], 8000)
    # the client's own sender (frames through aiortc's encoder) runs the same loop
    seen = []
    leg.on_packet = lambda _leg, packet: seen.append(packet)
    await wait_until(lambda: len(seen) >= 5)
    seqs = [p.sequence_number for p in seen]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))


def test_fast_sender_path_assumptions_hold() -> None:
    """The copied sender loop's speed-ups rely on these (each fails on a changed aiortc)."""
    from fractions import Fraction

    import av
    from aiortc import clock
    from aiortc.codecs.opus import OpusEncoder
    from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap

    assert tripwire._fast_path_problems() == []
    # raw (payload, pts) == what OpusEncoder.pack makes of the av.Packet OutboundAudio used to return
    packet = av.Packet(b"\x01\x02\x03")
    packet.pts, packet.time_base = 123456, Fraction(1, 48000)
    assert OpusEncoder().pack(packet) == ([b"\x01\x02\x03"], 123456)
    # same NTP format and value as aiortc's clock (within 100 ms)
    assert abs(send._ntp_now() - clock.current_ntp_time()) < (1 << 32) // 10
    # abs-send-time is detected only when negotiated
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

    negotiated = HeaderExtensionsMap()
    negotiated.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(
        id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")]))
    assert send._negotiated_abs_send_time(negotiated)
    assert not send._negotiated_abs_send_time(HeaderExtensionsMap())
    assert HeaderExtensionsMap().set(HeaderExtensions(abs_send_time=5))[1] == b""


async def test_outbound_audio_takes_the_raw_sender_path(media: MediaFactory) -> None:
    """The server leg's track is read through ``recv_opus_payload`` (no av.Packet), and the
    client still receives consecutive sequence numbers and 20 ms timestamp steps."""
    client, leg = await media.pair(500.0)
    calls = 0
    original = leg.outbound.recv_opus_payload

    async def counting() -> tuple[bytes, int]:
        nonlocal calls
        calls += 1
        return await original()

    leg.outbound.recv_opus_payload = counting  # type: ignore[method-assign]
    await wait_until(lambda: calls >= 5)
    assert hasattr(leg.outbound, aiortc_hook.RAW_RECV_METHOD)


async def test_sent_packets_parse_back_with_mid(media: MediaFactory) -> None:
    """What the fast serializer wrote is what aiortc parses: the client sees the leg's mid."""
    client, leg = await media.pair(500.0)
    seen = await wire_spy(client)
    await wait_until(lambda: len(seen) >= 3)
    mids = {p.extensions.mid for p in seen}
    assert mids == {leg._pc.getTransceivers()[0].mid}
    assert {p.payload_type for p in seen} == {leg._transceiver.sender._zorio_send_codecs[0].payloadType}


async def test_direct_and_loop_sends_share_one_rtp_stream(
    media: MediaFactory, monkeypatch: pytest.MonkeyPatch, relay_path: str
) -> None:
    """Relayed packets go out through DirectSend (or the native route, which shares its sequence
    counter); generated ones (music on hold) through the sender loop. The far client sees ONE
    stream across the switches: same SSRC and payload type, consecutive sequence numbers,
    timestamps in 20 ms steps, and sender reports that count it."""
    direct_sent = 0
    original_send = aiortc_hook.DirectSend.send

    def counting(self: aiortc_hook.DirectSend, payload: bytes, pts: int) -> None:
        nonlocal direct_sent
        direct_sent += 1
        original_send(self, payload, pts)

    monkeypatch.setattr(aiortc_hook.DirectSend, "send", counting)
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    seen = await wire_spy(b)
    media.bridge.play(leg_b, "music")
    await wait_until(lambda: len(seen) >= 10)
    media.bridge.connect(leg_a, leg_b)

    def relayed() -> int:
        return direct_sent + native_routes.counters(leg_a)["relayed"]

    await wait_until(lambda: relayed() >= 20)
    media.bridge.hold(leg_a)  # b hears music from the loop again
    mark = len(seen)
    await wait_until(lambda: len(seen) >= mark + 10)
    media.bridge.unhold(leg_a)
    mark = relayed()
    await wait_until(lambda: relayed() >= mark + 10)
    if relay_path == "native":
        assert native_routes.counters(leg_a)["relayed"] >= 25 and direct_sent <= 5
    else:
        assert native_routes.counters(leg_a)["relayed"] == 0

    assert leg_b.outbound.direct_send is not None
    packets = list(seen)
    assert {p.ssrc for p in packets} == {leg_b._transceiver.sender._ssrc}
    assert {p.payload_type for p in packets} == {leg_b._transceiver.sender._zorio_send_codecs[0].payloadType}
    steps = {(q.sequence_number - p.sequence_number) & 0xFFFF for p, q in zip(packets, packets[1:], strict=False)}
    assert steps == {1}
    ts_steps = {(q.timestamp - p.timestamp) & 0xFFFFFFFF for p, q in zip(packets, packets[1:], strict=False)}
    assert all(step % 960 == 0 and 0 < step <= 960 * 10 for step in ts_steps), ts_steps
    relayed = {p.payload for p in packets[-10:]}
    assert relayed and all(p.marker == 1 for p in packets)

    async def reported_by_b() -> int:
        stats = await b.pc.getReceivers()[0].getStats()
        return max((s.packetsSent for s in stats.values() if s.type == "remote-outbound-rtp"), default=0)

    for _ in range(40):
        if await reported_by_b() >= len(packets) - 60:
            break
        await asyncio.sleep(0.1)
    assert len(packets) - 60 <= await reported_by_b() <= leg_b.outbound.packets_sent


async def test_direct_send_falls_back_to_the_sender_loop(media: MediaFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """When DirectSend cannot send (e.g. the pair is a TURN relay), relayed packets are queued
    for the stock sender loop instead: the audio still flows."""
    monkeypatch.setattr(aiortc_hook.DirectSend, "ready", lambda self: False)
    a, leg_a = await media.pair(500.0)
    b, leg_b = await media.pair(1100.0)
    seen = await wire_spy(b)
    mark = len(seen)
    media.bridge.connect(leg_a, leg_b)
    await wait_until(lambda: leg_b.outbound.forwarded >= 20)
    # Forwarded counts a packet when it is queued; the sender loop puts it on the wire a moment later.
    await wait_until(lambda: len(seen) >= mark + 20)
    assert max(leg_b.outbound.recent_forward_delays_s) > 0  # queued, not sent from the callback


def test_direct_send_is_never_ready_without_an_ice_connection() -> None:
    """A sender whose transport is not aiortc's DTLS-over-ICE keeps the stock loop (it used to
    fail in DirectSend's constructor, which left the sender task dead and ``stop()`` hanging)."""
    from types import SimpleNamespace

    from aiortc.rtcdtlstransport import State

    transport = SimpleNamespace(_state=State.CONNECTED, _tx_srtp=object())
    sender = SimpleNamespace(transport=transport, _enabled=True, _ssrc=1)
    direct = aiortc_hook.DirectSend(sender, 111, b"", 0, 0)  # type: ignore[arg-type]
    assert direct.ready() is False
