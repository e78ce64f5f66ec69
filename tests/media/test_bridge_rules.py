"""The bridge's rule table with real aiortc clients: fan-out (one party heard by two), taps that keep
a call on the native relay, playbacks pulled by a leg's track (heard at their frequency, finished
at their end), and a speaker's taps fed with what it plays."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from zorio_widget.media.native import routes as native_routes
from zorio_widget.media.playback import Playback
from zorio_widget.media.playback.pcm import pcm_to_clip

from .conftest import RATE, MediaFactory, dominant_hz, rms, wait_until
from .test_relay import AUDIBLE_RMS, SILENT_RMS, assert_hears

pytestmark = pytest.mark.timeout(30)

A_HZ, B_HZ, C_HZ = 500.0, 1100.0, 700.0


def tone(hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 0.3 * 32767).astype(np.int16)


async def test_one_party_heard_by_two_listeners(media: MediaFactory, relay_path: str) -> None:
    a, leg_a = await media.pair(A_HZ)
    b, leg_b = await media.pair(B_HZ)
    c, leg_c = await media.pair(C_HZ)
    media.bridge.connect(leg_a, leg_b)
    if relay_path == "native":
        await wait_until(lambda: native_routes.route_of(leg_a) is not None)
    media.bridge.listen(leg_c, leg_a)  # a second listener: a's native route cannot serve both
    assert native_routes.route_of(leg_a) is None
    assert set(media.bridge.listeners_of(leg_a)) == {leg_b, leg_c}
    await b.wait_for_audio()
    await c.wait_for_audio()
    await asyncio.sleep(0.4)
    assert_hears(await b.listen(0.6), A_HZ)
    assert_hears(await c.listen(0.6), A_HZ)
    assert_hears(await a.listen(0.6), B_HZ)  # the pair still goes both ways
    await asyncio.sleep(0.3)
    assert native_routes.route_of(leg_a) is None  # never re-armed while two listen

    media.bridge.stop_listening(leg_c, leg_a)
    assert media.bridge.listeners_of(leg_a) == [leg_b]
    await asyncio.sleep(0.3)
    assert rms(await c.listen(0.5)) < SILENT_RMS
    if relay_path == "native":  # one listener again: the fast path comes back
        await wait_until(lambda: native_routes.route_of(leg_a) is not None)


async def test_a_tapped_leg_stays_on_the_native_relay(media: MediaFactory, relay_path: str) -> None:
    a, leg_a = await media.pair(A_HZ)
    b, leg_b = await media.pair(B_HZ)
    media.bridge.connect(leg_a, leg_b)
    tapped: list[tuple[int, int]] = []
    media.bridge.add_tap(leg_a, lambda payload, timestamp: tapped.append((len(payload), timestamp)))
    await b.wait_for_audio()
    await asyncio.sleep(0.5)
    before = native_routes.counters(leg_a)["relayed"]
    start = len(tapped)
    await asyncio.sleep(1.0)
    await wait_until(lambda: len(tapped) - start >= 40)  # a loaded machine may deliver the second's packets late
    got = tapped[start:]
    assert 40 <= len(got) <= 60, len(got)  # every packet of the second, once
    assert all(size > 0 for size, _ in got)
    deltas = {(t2 - t1) & 0xFFFFFFFF for (_, t1), (_, t2) in zip(got, got[1:], strict=False)}
    assert deltas <= {960, 1920}, deltas  # RTP timestamps of the sender, 20 ms apart
    relayed = native_routes.counters(leg_a)["relayed"] - before
    if relay_path == "native":
        assert relayed >= 40, relayed
        route = native_routes.route_of(leg_a)
        assert route is not None and route.tap is leg_a.packet_tap
    else:
        assert relayed == 0
    assert_hears(await b.listen(0.5), A_HZ)

    media.bridge.mute(leg_a)  # a muted party's audio is neither relayed nor tapped
    await asyncio.sleep(0.2)
    muted_from = len(tapped)
    await asyncio.sleep(0.4)
    assert len(tapped) == muted_from
    media.bridge.unmute(leg_a)
    await wait_until(lambda: len(tapped) > muted_from + 10)


async def test_a_playback_is_pulled_heard_and_finishes_at_its_end(media: MediaFactory) -> None:
    a, leg_a = await media.pair(A_HZ)
    clip = pcm_to_clip("test:tone", tone(C_HZ, 1.0))
    finished: list[float] = []
    playback = Playback("test:tone", clip, on_finished=lambda result: finished.append(time.monotonic()))
    speaker_tap: list[int] = []
    leg_b = media.leg()  # the party whose voice the playback is (it sends nothing itself)
    media.bridge.add_tap(leg_b, lambda payload, _ts: speaker_tap.append(len(payload)))
    started = time.monotonic()
    media.bridge.play(leg_a, playback, speaker=leg_b)
    assert str(media.bridge.source_of(leg_a)) == "playback<test:tone>"
    await a.wait_for_audio()
    heard = await a.listen(0.5)
    assert rms(heard) > AUDIBLE_RMS and abs(dominant_hz(heard) - C_HZ) < 25
    await wait_until(lambda: bool(finished), within_s=5)
    result = playback.done.result()
    assert result.error is None and not result.stopped
    assert result.played_s == pytest.approx(1.0, abs=0.03)
    assert 0.9 <= finished[0] - started <= 1.8  # at its end, not before
    assert len(speaker_tap) == pytest.approx(50, abs=2)  # the speaker's taps saw what it played
    await asyncio.sleep(0.3)
    assert rms(await a.listen(0.4)) < SILENT_RMS  # over: silence until told otherwise


async def test_stopping_a_playback_and_switching_back(media: MediaFactory) -> None:
    a, leg_a = await media.pair(A_HZ)
    b, leg_b = await media.pair(B_HZ)
    media.bridge.connect(leg_a, leg_b)
    looping = Playback("test:loop", pcm_to_clip("test:loop", tone(C_HZ, 0.2)), loop=True)
    media.bridge.play(leg_a, looping)  # the pair is broken: b hears silence, a the loop
    await asyncio.sleep(0.4)
    heard = await a.listen(0.5)
    assert abs(dominant_hz(heard) - C_HZ) < 25
    looping.stop()
    assert looping.done.result().stopped
    media.bridge.listen(leg_a, leg_b)
    await asyncio.sleep(0.3)
    assert_hears(await a.listen(0.5), B_HZ)
