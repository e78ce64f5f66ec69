"""The aiortc internals the encoded relay depends on. These fail first on an aiortc upgrade."""

from __future__ import annotations

import asyncio
import inspect
import struct

import aiortc
import pytest
from aiortc import RTCRtpReceiver
from aiortc.codecs import CODECS
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from zorio_widget.media import aiortc_hook, native
from zorio_widget.media.aiortc_hook import AiortcInternalsChanged, verify_aiortc_internals

from .conftest import Client, MediaFactory, wait_until, wire_spy

pytestmark = pytest.mark.timeout(15)


def test_pinned_version_and_requirements_agree() -> None:
    from pathlib import Path

    import aioice

    pins = dict(
        line.split("==", 1)
        for line in (Path(__file__).parents[2] / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert aiortc.__version__ == aiortc_hook.AIORTC_VERSION == pins["aiortc"]
    assert aioice.__version__ == aiortc_hook.AIOICE_VERSION == pins["aioice"]
    verify_aiortc_internals()


def test_verify_reports_a_different_aioice(monkeypatch: pytest.MonkeyPatch) -> None:
    import aioice

    monkeypatch.setattr(aioice, "__version__", "0.14.0")
    with pytest.raises(AiortcInternalsChanged, match="aioice 0.14.0 installed"):
        verify_aiortc_internals()


def test_wrapped_method_signature_is_unchanged() -> None:
    aiortc_hook.install()
    assert aiortc_hook.is_installed()
    original = aiortc_hook._original_handle_rtp_packet
    assert original is not None and inspect.iscoroutinefunction(original)
    assert list(inspect.signature(original).parameters) == ["self", "packet", "arrival_time_ms"]
    assert list(inspect.signature(StreamStatistics).parameters) == ["clockrate"]
    # the DTLS transport calls it with a keyword argument
    from aiortc import rtcdtlstransport

    assert "_handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in inspect.getsource(rtcdtlstransport)


async def test_private_attributes_exist_on_a_real_receiver(media: MediaFactory) -> None:
    _client, leg = await media.pair(500.0)
    receiver = leg._pc.getReceivers()[0]
    assert isinstance(receiver, RTCRtpReceiver)
    for attr in ("_RTCRtpReceiver__active_ssrc", "_RTCRtpReceiver__codecs", "_RTCRtpReceiver__remote_streams"):
        assert isinstance(getattr(receiver, attr), dict), attr
    assert receiver._enabled is True


def test_verify_reports_a_different_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    with pytest.raises(AiortcInternalsChanged, match="1.17.0 installed"):
        verify_aiortc_internals()


def test_telephone_event_registered_once_at_both_rates() -> None:
    aiortc_hook.install()
    aiortc_hook.register_telephone_event()
    events = [(c.clockRate, c.payloadType) for c in CODECS["audio"] if c.mimeType == "audio/telephone-event"]
    assert sorted(events) == [(8000, 126), (48000, 110)]
    assert CODECS["audio"][0].mimeType == "audio/opus"
    used = [c.payloadType for kind in CODECS.values() for c in kind]
    assert len(used) == len(set(used)), "payload types collide"


async def test_packets_flow_through_the_tap_and_keep_rtcp_right(media: MediaFactory) -> None:
    client, leg = await media.pair(500.0)
    seen = []
    leg.on_packet = lambda _leg, packet: seen.append(packet)
    await wait_until(lambda: len(seen) >= 50)
    packet = seen[-1]
    assert packet.mime_type == "audio/opus" and packet.clock_rate == 48000
    assert packet.ssrc == client.sender._ssrc and packet.payload
    deltas = {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in zip(seen, seen[1:], strict=False)}
    assert deltas == {960}

    receiver = leg._pc.getReceivers()[0]
    # stats and active SSRC are still maintained by the tap ...
    streams = receiver._RTCRtpReceiver__remote_streams
    assert streams[client.sender._ssrc].packets_received == leg.packets_received
    assert [s.source for s in receiver.getSynchronizationSources()] == [client.sender._ssrc]
    # ... but nothing reached the jitter buffer / decoder
    assert receiver.track._queue.qsize() == 0
    # the client's sender gets receiver reports built from those statistics
    async def remote_inbound() -> int:
        stats = await client.sender.getStats()
        return sum(s.packetsReceived for s in stats.values() if s.type == "remote-inbound-rtp")

    for _ in range(40):
        if await remote_inbound() > 0:
            break
        await asyncio.sleep(0.1)
    assert await remote_inbound() > 0


async def test_stock_receivers_drop_telephone_events_and_keep_decoding(media: MediaFactory) -> None:
    """Two plain aiortc peers: an event must not reach (and kill) an untapped decoder thread.

    The events are handed to the receiver the way its DTLS transport does, in the sender's own
    SSRC and sequence space (as Chrome interleaves them); with the stock method this kills the
    decoder thread ("No decoder found for MIME type audio/telephone-event") and audio stops.
    """
    aiortc_hook.install()
    a, b = Client(500.0), Client(900.0)
    media.clients += [a, b]
    await a.pc.setLocalDescription(await a.pc.createOffer())
    await b.pc.setRemoteDescription(a.pc.localDescription)
    await b.pc.setLocalDescription(await b.pc.createAnswer())
    await a.pc.setRemoteDescription(b.pc.localDescription)
    await b.wait_for_audio()
    await asyncio.sleep(0.2)

    receiver = b.pc.getReceivers()[0]
    stats = receiver._RTCRtpReceiver__remote_streams[a.sender._ssrc]
    received_before = stats.packets_received
    seq, ts = stats.max_seq, stats._last_timestamp
    for i in range(6):
        packet = RtpPacket(
            payload_type=a.telephone_event_pt(8000), sequence_number=(seq + 1 + i) & 0xFFFF, timestamp=ts + 960
        )
        packet.ssrc = a.sender._ssrc
        packet.payload = struct.pack("!BBH", 5, 0x80 if i >= 3 else 0, 160 * (i + 1))
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    assert stats.packets_received >= received_before + 6

    await asyncio.sleep(0.3)
    before = len(b.received)
    await asyncio.sleep(0.5)
    assert len(b.received) - before >= 15, "decoder thread died"


def test_verify_reports_a_changed_sender_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender loop we copy must still be the one we copied (its source is compared)."""
    aiortc_hook.install()

    async def other_run_rtp(self: object, codec: object) -> None:
        sequence_number = 0  # noqa: F841 (a loop that differs from the copied one)

    monkeypatch.setattr(aiortc_hook, "_original_run_rtp", other_run_rtp)
    with pytest.raises(AiortcInternalsChanged, match="_run_rtp no longer contains"):
        verify_aiortc_internals()

    async def other_send(self: object, params: object) -> None:
        pass

    monkeypatch.setattr(aiortc_hook, "_original_run_rtp", None)
    monkeypatch.setattr(aiortc_hook, "_original_send", other_send)
    with pytest.raises(AiortcInternalsChanged, match="send parameters changed"):
        verify_aiortc_internals()


async def test_sender_loop_is_replaced_and_remembers_the_negotiated_codecs(media: MediaFactory) -> None:
    from aiortc import RTCRtpSender

    client, leg = await media.pair(500.0)
    assert RTCRtpSender._run_rtp is aiortc_hook._run_rtp and RTCRtpSender.send is aiortc_hook._send
    sender = leg._pc.getSenders()[0]
    for attr in aiortc_hook._SENDER_ATTRS:
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

    assert aiortc_hook._fast_path_problems() == []
    # raw (payload, pts) == what OpusEncoder.pack makes of the av.Packet OutboundAudio used to return
    packet = av.Packet(b"\x01\x02\x03")
    packet.pts, packet.time_base = 123456, Fraction(1, 48000)
    assert OpusEncoder().pack(packet) == ([b"\x01\x02\x03"], 123456)
    # same NTP format and value as aiortc's clock (within 100 ms)
    assert abs(aiortc_hook._ntp_now() - clock.current_ntp_time()) < (1 << 32) // 10
    # abs-send-time is detected only when negotiated
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

    negotiated = HeaderExtensionsMap()
    negotiated.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(
        id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")]))
    assert aiortc_hook._negotiated_abs_send_time(negotiated)
    assert not aiortc_hook._negotiated_abs_send_time(HeaderExtensionsMap())
    assert HeaderExtensionsMap().set(HeaderExtensions(abs_send_time=5))[1] == b""


def test_verify_reports_a_changed_opus_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiortc.codecs import opus

    def other_pack(self: object, packet: object) -> tuple[list[bytes], int]:
        return [], 0

    monkeypatch.setattr(opus.OpusEncoder, "pack", other_pack)
    with pytest.raises(AiortcInternalsChanged, match="OpusEncoder.pack no longer"):
        verify_aiortc_internals()


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



def test_verify_reports_a_changed_rtp_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The copied sender writes the RTP header itself; a changed ``serialize`` must be noticed."""
    original = RtpPacket.serialize

    def other_serialize(self: RtpPacket, extensions_map: object = None) -> bytes:
        return original(self, extensions_map) + b"\x00"  # type: ignore[arg-type]

    monkeypatch.setattr(RtpPacket, "serialize", other_serialize)
    with pytest.raises(AiortcInternalsChanged, match="serialize no longer matches"):
        verify_aiortc_internals()


async def test_sent_packets_parse_back_with_mid(media: MediaFactory) -> None:
    """What the fast serializer wrote is what aiortc parses: the client sees the leg's mid."""
    client, leg = await media.pair(500.0)
    seen = await wire_spy(client)
    await wait_until(lambda: len(seen) >= 3)
    mids = {p.extensions.mid for p in seen}
    assert mids == {leg._pc.getTransceivers()[0].mid}
    assert {p.payload_type for p in seen} == {leg._transceiver.sender._zorio_send_codecs[0].payloadType}


# -- the synchronous relay path: _FastReceive, DirectSend and the aioice patches ---------------


def _rtp(marker: int = 0, csrc: int = 0, extensions: bool = False, padding: int = 0, payload: bytes = b"\xf8\x01\x02") -> bytes:
    packet = RtpPacket(payload_type=111, sequence_number=65000, timestamp=0xFFFFFF00, ssrc=0x12345678, marker=marker)
    packet.csrc = list(range(1, csrc + 1))
    packet.payload = payload
    packet.padding_size = padding
    if extensions:
        from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
        from aiortc.rtp import HeaderExtensionsMap

        extensions_map = HeaderExtensionsMap()
        extensions_map.configure(RTCRtpParameters(headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
            RTCRtpHeaderExtensionParameters(id=2, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        ]))
        packet.extensions.mid = "audio"
        packet.extensions.audio_level = (True, 30)
        return packet.serialize(extensions_map)
    return packet.serialize()


def _parse_or_none(data: bytes) -> tuple[int, int, int, int, bytes] | None:
    try:
        packet = RtpPacket.parse(data)
    except ValueError:
        return None
    return packet.marker, packet.payload_type, packet.sequence_number, packet.timestamp, packet.payload


@pytest.mark.parametrize("shape", [
    {}, {"marker": 1}, {"csrc": 3}, {"extensions": True}, {"padding": 7}, {"payload": b""},
    {"csrc": 2, "extensions": True, "padding": 4, "marker": 1},
])
def test_fast_header_parser_agrees_with_aiortc(shape: dict[str, object]) -> None:
    data = _rtp(**shape)  # type: ignore[arg-type]
    assert aiortc_hook._parse_rtp_header(data) == _parse_or_none(data) is not None


def test_fast_header_parser_rejects_what_aiortc_rejects() -> None:
    """Same result wherever aiortc parses the packet; never stricter. (It does not look inside
    the header-extension block, so a packet with a malformed extension element still has its
    payload relayed, where aiortc's own parser would drop the packet.)"""
    import random

    rng = random.Random(4733)
    good = [_rtp(csrc=2, extensions=True, padding=4), _rtp(extensions=True), _rtp(padding=3)]
    cases = [b"", b"\x80" * 11, bytes([0x40]) + good[0][1:], good[0][:14], good[1][:17], good[2][:-1] + b"\xff",
             good[2][:-1] + b"\x00"]
    for _ in range(3000):  # truncations and single-byte corruptions of valid packets
        data = bytearray(rng.choice(good))
        if rng.random() < 0.5:
            del data[rng.randrange(1, len(data)):]
        else:
            data[rng.randrange(len(data))] = rng.randrange(256)
        cases.append(bytes(data))
    lenient = 0
    for data in cases:
        expected, fast = _parse_or_none(data), aiortc_hook._parse_rtp_header(data)
        if expected is None and fast is not None:
            lenient += 1
            assert data[0] & 0x10, data.hex()  # only inside an extension block
        else:
            assert fast == expected, data.hex()
    assert lenient < len(cases) // 10


def test_verify_reports_a_changed_ice_receive_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from aioice.ice import Connection

    def other_data_received(self: object, data: bytes, component: int) -> None:
        pass

    monkeypatch.setattr(Connection, "data_received", other_data_received)
    with pytest.raises(AiortcInternalsChanged, match="data_received no longer contains"):
        verify_aiortc_internals()


def test_verify_reports_stream_statistics_reading_more_of_a_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    def other_add(self: object, packet: RtpPacket) -> None:
        return packet.sequence_number, packet.timestamp, packet.payload  # type: ignore[return-value]

    monkeypatch.setattr(StreamStatistics, "add", other_add)
    with pytest.raises(AiortcInternalsChanged, match="StreamStatistics.add reads"):
        verify_aiortc_internals()


async def test_tapped_receiver_packets_skip_the_dtls_task(media: MediaFactory) -> None:
    """Once the SSRC is routed, a tapped leg's RTP is handled inside the socket callback:
    aiortc's DTLS task sees none of it, yet its counters and the receiver statistics move."""
    client, leg = await media.pair(500.0)
    dtls = leg._pc.getReceivers()[0].transport
    connection = dtls.transport._connection
    installed = connection.data_received
    assert installed is getattr(connection, aiortc_hook._FAST_RECEIVE_ATTR)
    assert isinstance(getattr(installed, "fallback", installed), aiortc_hook._FastReceive)
    await wait_until(lambda: leg.packets_received >= 5)

    stock_rtp = 0
    original = dtls._handle_rtp_data

    async def counting(data: bytes, arrival_time_ms: int) -> None:
        nonlocal stock_rtp
        stock_rtp += 1
        await original(data, arrival_time_ms)

    dtls._handle_rtp_data = counting
    before, rx_before = leg.packets_received, dtls._get_stats()
    await wait_until(lambda: leg.packets_received >= before + 25)
    assert stock_rtp == 0
    rx_after = dtls._get_stats()
    (b,), (a,) = rx_before.values(), rx_after.values()
    assert a.packetsReceived - b.packetsReceived >= 25 and a.bytesReceived > b.bytesReceived
    streams = leg._pc.getReceivers()[0]._RTCRtpReceiver__remote_streams
    assert streams[client.sender._ssrc].packets_received == leg.packets_received


async def test_udp_reads_use_a_bounded_buffer(media: MediaFactory) -> None:
    _client, leg = await media.pair(500.0)
    connection = leg._pc.getReceivers()[0].transport.transport._connection
    transports = {pair.protocol.transport for pair in connection._nominated.values()}
    assert transports and {t.max_size for t in transports} == {aiortc_hook.UDP_RECV_BUFFER}


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
        return direct_sent + native.counters(leg_a)["relayed"]

    await wait_until(lambda: relayed() >= 20)
    media.bridge.hold(leg_a)  # b hears music from the loop again
    mark = len(seen)
    await wait_until(lambda: len(seen) >= mark + 10)
    media.bridge.unhold(leg_a)
    mark = relayed()
    await wait_until(lambda: relayed() >= mark + 10)
    if relay_path == "native":
        assert native.counters(leg_a)["relayed"] >= 25 and direct_sent <= 5
    else:
        assert native.counters(leg_a)["relayed"] == 0

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
    media.bridge.connect(leg_a, leg_b)
    await wait_until(lambda: leg_b.outbound.forwarded >= 20)
    assert len(seen) >= 20
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


async def test_active_ssrc_time_is_refreshed_not_rebuilt_per_packet(media: MediaFactory) -> None:
    client, leg = await media.pair(500.0)
    await wait_until(lambda: leg.packets_received >= 5)
    receiver = leg._pc.getReceivers()[0]

    class CountingDict(dict):  # type: ignore[type-arg]
        writes = 0

        def __setitem__(self, key: object, value: object) -> None:
            CountingDict.writes += 1
            super().__setitem__(key, value)

    receiver._RTCRtpReceiver__active_ssrc = CountingDict(receiver._RTCRtpReceiver__active_ssrc)
    before = leg.packets_received
    await wait_until(lambda: leg.packets_received >= before + 60, within_s=5)  # >= 1.2 s of audio
    assert 1 <= CountingDict.writes <= 1 + 60 * 20 // aiortc_hook.ACTIVE_SSRC_REFRESH_MS + 1
    assert [s.source for s in receiver.getSynchronizationSources()] == [client.sender._ssrc]
