"""The receive tap (``aiortc_hook.receive``): packets out before the jitter buffer, RTCP kept right."""

from __future__ import annotations

import asyncio
import inspect
import struct

import pytest
from aiortc import RTCRtpReceiver
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from zorio_widget.media import aiortc_hook
from zorio_widget.media.aiortc_hook import inventory, receive

from ..conftest import Client, MediaFactory, wait_until

pytestmark = pytest.mark.timeout(15)


def test_wrapped_method_signature_is_unchanged() -> None:
    aiortc_hook.install()
    assert aiortc_hook.is_installed()
    original = receive._original_handle_rtp_packet
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
    # waits for the frames (a fixed 0.5 s window comes short on a loaded machine); a dead decoder never gets there
    await wait_until(lambda: len(b.received) - before >= 15)
    assert len(b.received) - before >= 15, "decoder thread died"


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
    assert receive._parse_rtp_header(data) == _parse_or_none(data) is not None


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
        expected, fast = _parse_or_none(data), receive._parse_rtp_header(data)
        if expected is None and fast is not None:
            lenient += 1
            assert data[0] & 0x10, data.hex()  # only inside an extension block
        else:
            assert fast == expected, data.hex()
    assert lenient < len(cases) // 10


async def test_tapped_receiver_packets_skip_the_dtls_task(media: MediaFactory) -> None:
    """Once the SSRC is routed, a tapped leg's RTP is handled inside the socket callback:
    aiortc's DTLS task sees none of it, yet its counters and the receiver statistics move."""
    client, leg = await media.pair(500.0)
    dtls = leg._pc.getReceivers()[0].transport
    connection = dtls.transport._connection
    installed = connection.data_received
    assert installed is getattr(connection, inventory.FAST_RECEIVE_ATTR)
    assert isinstance(getattr(installed, "fallback", installed), receive._FastReceive)
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
