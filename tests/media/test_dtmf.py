"""DTMF: RFC 4733 events from a client, in-band tones both ways, the Goertzel detector."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest

from zorio_widget.media.clips import dtmf_pcm, get_clip_blocking
from zorio_widget.media.dtmf import GoertzelDetector, TelephoneEventReceiver, parse_telephone_event

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
    await asyncio.sleep(0.1)
    assert got == list("159#*0")
    # the receiver's per-SSRC statistics (what its RTCP receiver reports carry) counted them
    receiver = leg._pc.getReceivers()[0]
    streams = receiver._RTCRtpReceiver__remote_streams
    assert streams[client.sender._ssrc ^ 0x5A5A5A5A].packets_received == 36


async def test_bridge_inband_dtmf_is_detected_on_client_audio(media: MediaFactory) -> None:
    a, leg_a = await media.pair(600.0)
    b, leg_b = await media.pair(900.0)
    media.bridge.connect(leg_a, leg_b)
    await b.wait_for_audio()
    start = asyncio.get_running_loop().time()
    seconds = await media.bridge.send_dtmf(leg_b, "4#7")
    assert 0.5 < seconds < 0.6
    import time

    t0 = time.monotonic()
    await asyncio.sleep(seconds + 0.4)
    assert asyncio.get_running_loop().time() > start
    detector = GoertzelDetector()
    assert detector.feed(b.audio_since(t0 - 0.05).astype(np.int16)) == ["4", "#", "7"]
    assert leg_b.outbound.source.kind == "forward"  # b hears a again afterwards


async def test_leg_detects_inband_tones_sent_by_client(media: MediaFactory) -> None:
    client, leg = await media.pair(0.0)
    got: list[str] = []
    leg.on_dtmf = got.append
    leg.set_inband_dtmf_detection(True)
    await wait_until(lambda: leg.packets_received > 5)
    for digit in "26":
        pcm = dtmf_pcm(digit)
        client.track.queue += [pcm[i : i + 960] for i in range(0, len(pcm), 960)]
    await wait_until(lambda: len(got) >= 2)
    assert got == ["2", "6"]
    leg.set_inband_dtmf_detection(False)


async def test_send_dtmf_rejects_invalid_digits(media: MediaFactory) -> None:
    leg = media.leg()
    for bad in ("", "12x", "E"):
        with pytest.raises(ValueError):
            await media.bridge.send_dtmf(leg, bad)
