"""DTMF: RFC 4733 events both ways, in-band tones both ways, the Goertzel detector."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest

from zorio_widget.media import aiortc_hook
from zorio_widget.media.aiortc_hook import ReceivedPacket
from zorio_widget.media.clips import dtmf_pcm, get_clip_blocking
from zorio_widget.media.dtmf import (
    GoertzelDetector,
    TelephoneEventReceiver,
    parse_telephone_event,
    telephone_event_packets,
)
from zorio_widget.media.leg import MediaLeg

from .conftest import MediaFactory, wait_until

pytestmark = pytest.mark.timeout(15)


def event(digit_index: int, end: bool, duration: int = 400) -> bytes:
    return struct.pack("!BBH", digit_index, (0x80 if end else 0) | 10, duration)


def test_parse_telephone_event() -> None:
    assert parse_telephone_event(event(11, True, 800)) == (11, True, 800)
    with pytest.raises(ValueError):
        parse_telephone_event(b"\x01\x02")


def test_event_receiver_reports_once_per_event_timestamp() -> None:
    rx = TelephoneEventReceiver()
    got: list[str] = []
    for ts, idx in ((1000, 1), (2000, 10), (3000, 11), (4000, 15)):
        for _ in range(3):
            got += rx.feed(event(idx, False), ts)
        for _ in range(3):  # the end packet is retransmitted
            got += rx.feed(event(idx, True), ts)
    assert got == ["1", "*", "#", "D"]
    # a late duplicate end packet of an old event is not reported again
    assert rx.feed(event(1, True), 1000) == []


def test_event_receiver_recovers_when_all_end_packets_are_lost() -> None:
    rx = TelephoneEventReceiver()
    assert rx.feed(event(5, False), 100) == []
    assert rx.feed(event(7, False), 900) == ["5"]
    assert rx.feed(event(7, True), 900) == ["7"]
    assert rx.feed(event(200, True), 1700) == []  # not a digit event
    assert rx.feed(b"\x00", 2500) == []  # malformed


@pytest.mark.parametrize("digits", ["0123456789", "*#ABCD", "1122"])
def test_goertzel_detects_encoded_and_decoded_tones(digits: str) -> None:
    """Our pre-encoded tones, decoded again, are detected in order (same path a browser takes)."""
    import av

    decoder = av.CodecContext.create("libopus", "r")
    decoder.format, decoder.layout, decoder.sample_rate = "s16", "mono", 48000
    detector = GoertzelDetector()
    found: list[str] = []
    for digit in digits:
        for payload in get_clip_blocking(f"dtmf:{digit}").packets:
            for frame in decoder.decode(av.Packet(payload)):
                found += detector.feed(frame.to_ndarray()[0])
    assert "".join(found) == digits


def test_goertzel_ignores_speechlike_and_single_tones() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(48000) / 48000
    noise = (rng.normal(0, 3000, 48000)).astype(np.int16)
    single = (8000 * np.sin(2 * np.pi * 697 * t)).astype(np.int16)
    chord = (3000 * sum(np.sin(2 * np.pi * f * t) for f in (220, 330, 440, 660))).astype(np.int16)
    for pcm in (noise, single, chord):
        assert GoertzelDetector().feed(pcm) == []
    assert GoertzelDetector().feed(dtmf_pcm("9")) == ["9"]


async def test_client_telephone_events_are_reported_in_order_without_duplicates(media: MediaFactory) -> None:
    client, leg = await media.pair(600.0)
    got: list[str] = []
    leg.on_dtmf = got.append
    pt = client.telephone_event_pt(8000)
    for i, digit in enumerate("159#*0"):
        await client.send_dtmf_event(digit, timestamp=10_000 + i * 8000, pt=pt)
    await wait_until(lambda: len(got) >= 6)
    # the receiver's per-SSRC statistics (what its RTCP receiver reports carry) counted them
    receiver = leg._pc.getReceivers()[0]
    stats = receiver._RTCRtpReceiver__remote_streams[client.sender._ssrc ^ 0x5A5A5A5A]
    # the sixth digit is reported on its first end packet, its two repeats come after: wait for
    # all 36 (counted before the sink sees each packet, so no duplicate report can follow either)
    await wait_until(lambda: stats.packets_received >= 36)
    assert got == list("159#*0")
    assert stats.packets_received == 36


async def test_bridge_inband_dtmf_is_detected_on_client_audio(media: MediaFactory) -> None:
    """A client that did not negotiate telephone-event gets the digits as tones."""
    a, leg_a = await media.pair(600.0)
    b, leg_b = await media.pair(900.0, telephone_event_rates=())
    assert leg_b.telephone_event is None and leg_b.telephone_event_payload_type is None
    media.bridge.connect(leg_a, leg_b)
    await b.wait_for_audio()
    start = asyncio.get_running_loop().time()
    seconds = await media.bridge.send_dtmf(leg_b, "4#7")
    assert 0.5 < seconds < 0.6
    import time

    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    assert asyncio.get_running_loop().time() > start

    def heard() -> list[str]:
        return GoertzelDetector().feed(b.audio_since(t0 - 0.05).astype(np.int16))

    await wait_until(lambda: len(heard()) >= 3)  # the last tone may still be on its way
    assert heard() == ["4", "#", "7"]
    assert leg_b.outbound.source.kind == "forward"  # b hears a again afterwards


async def test_leg_detects_inband_tones_sent_by_client(media: MediaFactory) -> None:
    client, leg = await media.pair(0.0)
    got: list[str] = []
    leg.on_dtmf = got.append
    leg.set_inband_dtmf_detection(True)
    await wait_until(lambda: leg.packets_received > 5)
    client.track.play_digits("26")
    await wait_until(lambda: len(got) >= 2)
    assert got == ["2", "6"]
    leg.set_inband_dtmf_detection(False)


async def test_send_dtmf_rejects_invalid_digits(media: MediaFactory) -> None:
    leg = media.leg()
    for bad in ("", "12x", "E"):
        with pytest.raises(ValueError):
            await media.bridge.send_dtmf(leg, bad)


def test_telephone_event_packets_for_one_digit() -> None:
    packets = telephone_event_packets("#", 8000)
    fields = [parse_telephone_event(p.payload) for p in packets]
    assert fields == [(11, False, 160), (11, False, 320), (11, False, 480), (11, False, 640)] + [(11, True, 800)] * 3
    assert [p.start for p in packets] == [True] + [False] * 6
    assert [p.repeat for p in packets] == [False] * 5 + [True] * 2
    assert [p.gap_after_s for p in packets] == [0.0] * 6 + [0.080]
    assert all(p.payload[1] & 0x3F == 10 for p in packets)  # volume
    assert [parse_telephone_event(p.payload)[2] for p in telephone_event_packets("1", 48000)][:5] == [
        960,
        1920,
        2880,
        3840,
        4800,
    ]


async def _until_audio_after_events(received: list[ReceivedPacket], leg: MediaLeg) -> None:
    """Waits (rather than sleeping a fixed time, which a loaded machine outruns) until every event
    was sent and ten audio packets followed the last one."""

    def audio_after_last_event() -> int:
        last = max((i for i, p in enumerate(received) if p.is_telephone_event), default=None)
        return 0 if last is None else sum(not p.is_telephone_event for p in received[last + 1 :])

    await wait_until(lambda: leg.outbound.events_pending == 0 and audio_after_last_event() >= 10)


def _check_events_in_stream(packets: list[ReceivedPacket], digits: str, clock_rate: int, pt: int) -> None:
    """The RFC 4733 contract on what a client received (audio and events, in arrival order)."""
    assert packets, "nothing received"
    assert len({p.ssrc for p in packets}) == 1, "events must share the audio's SSRC"
    seqs = [p.sequence_number for p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False)), "sequence numbers not contiguous"
    events = [p for p in packets if p.is_telephone_event]
    assert {(p.payload_type, p.clock_rate) for p in events} == {(pt, clock_rate)}

    # each digit: one timestamp, 5 packets 20 ms apart with growing duration, the end packet x3
    groups: dict[int, list[ReceivedPacket]] = {}
    for p in events:
        groups.setdefault(p.timestamp, []).append(p)
    step = clock_rate // 50
    assert len(groups) == len(digits)
    for digit, group in zip(digits, groups.values(), strict=True):
        fields = [parse_telephone_event(p.payload) for p in group]
        index = "0123456789*#ABCD".index(digit)
        assert fields == [(index, False, step * k) for k in (1, 2, 3, 4)] + [(index, True, 5 * step)] * 3
        assert [p.marker for p in group] == [True] + [False] * 6
        assert all(p.payload[1] & 0x3F == 10 for p in group)
        positions = [packets.index(p) for p in group]
        assert positions == list(range(positions[0], positions[0] + 7)), "audio sent during an event"

    receiver = TelephoneEventReceiver()
    assert [d for p in events for d in receiver.feed(p.payload, p.timestamp)] == list(digits)

    # one timeline: audio continues 20 ms after the last slot, an event takes 5 slots (100 ms)
    # and the ~80 ms between two digits carry audio
    audio_runs: list[int] = [0]
    slot_ts: int | None = None
    for i, p in enumerate(packets):
        if p.is_telephone_event and not p.marker:
            continue
        if slot_ts is not None:
            assert (p.timestamp - slot_ts) & 0xFFFFFFFF == 960, f"timestamp jump at packet {i}"
        if p.is_telephone_event:
            slot_ts = (p.timestamp + 4 * 960) & 0xFFFFFFFF
            audio_runs.append(0)
        else:
            slot_ts = p.timestamp
            audio_runs[-1] += 1
    before, *gaps, after = audio_runs
    assert before >= 10 and after >= 10, f"audio before/after the events: {audio_runs}"
    assert all(3 <= n <= 5 for n in gaps), f"audio packets between digits: {audio_runs}"


@pytest.mark.parametrize("rates", [(8000, 48000), (48000,)])
async def test_bridge_sends_rfc4733_events_in_the_audio_stream(media: MediaFactory, rates: tuple[int, ...]) -> None:
    """A client that negotiated telephone-event gets the digits as events, interleaved with
    the relayed audio on one SSRC, sequence space and timeline (8000 Hz preferred, as Chrome)."""
    a, leg_a = await media.pair(600.0)
    b, leg_b = await media.pair(900.0, telephone_event_rates=rates)
    clock_rate = rates[0]
    pt = b.telephone_event_pt(clock_rate)
    assert leg_b.telephone_event == (pt, clock_rate) and leg_b.telephone_event_payload_type == pt
    media.bridge.connect(leg_a, leg_b)
    received: list[ReceivedPacket] = []
    aiortc_hook.set_packet_sink(b.pc.getReceivers()[0], received.append)
    await wait_until(lambda: len(received) >= 10)

    seconds = await media.bridge.send_dtmf(leg_b, "4#7")
    assert seconds == pytest.approx(0.54)
    await _until_audio_after_events(received, leg_b)
    _check_events_in_stream(received, "4#7", clock_rate, pt)
    assert leg_b.outbound.source.kind == "forward" and leg_b.outbound.events_sent == 21
    assert leg_b.outbound.events_pending == 0


async def test_rfc4733_events_over_a_clip_and_on_an_incoming_leg(media: MediaFactory) -> None:
    """Same contract when the leg hears generated audio (ringback) and the server offered."""
    b, leg_b = await media.pair(900.0, incoming=True)
    media.bridge.play(leg_b, "ringback")
    received: list[ReceivedPacket] = []
    aiortc_hook.set_packet_sink(b.pc.getReceivers()[0], received.append)
    await wait_until(lambda: len(received) >= 10)
    await media.bridge.send_dtmf(leg_b, "0D*")
    await _until_audio_after_events(received, leg_b)
    pt, clock_rate = leg_b.telephone_event or (0, 0)
    assert clock_rate == 8000 and pt == b.telephone_event_pt(8000)
    _check_events_in_stream(received, "0D*", clock_rate, pt)


async def test_client_decoding_audio_keeps_playing_and_sees_the_events(media: MediaFactory) -> None:
    """A client watching only events (its audio still decoded) hears the relay resume afterwards."""
    a, leg_a = await media.pair(600.0)
    b, leg_b = await media.pair(900.0)
    media.bridge.connect(leg_a, leg_b)
    digits: list[str] = []
    events = TelephoneEventReceiver()
    aiortc_hook.set_packet_sink(
        b.pc.getReceivers()[0],
        lambda p: digits.extend(events.feed(p.payload, p.timestamp)),
        telephone_events_only=True,
    )
    await b.wait_for_audio()
    seconds = await media.bridge.send_dtmf(leg_b, "159")
    await wait_until(lambda: len(digits) >= 3)
    assert digits == list("159")
    await asyncio.sleep(seconds)
    from .conftest import dominant_hz

    pcm = await b.listen(0.5)
    assert abs(dominant_hz(pcm) - 600.0) < 20  # b hears a again
