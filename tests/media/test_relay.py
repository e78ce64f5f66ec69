"""Two real aiortc clients bridged through two server legs: who hears what."""

from __future__ import annotations

import asyncio
import statistics

import pytest

from zorio_widget.media import MediaLeg
from zorio_widget.media.native import routes as native_routes

from .conftest import MediaFactory, counter_growth, dominant_hz, rms, wait_until

pytestmark = pytest.mark.timeout(15)

A_HZ, B_HZ = 500.0, 1100.0
SILENT_RMS = 200.0
AUDIBLE_RMS = 1500.0


def assert_hears(pcm, hz: float) -> None:
    assert rms(pcm) > AUDIBLE_RMS, f"no signal (rms {rms(pcm):.0f})"
    assert abs(dominant_hz(pcm) - hz) < 25, f"heard {dominant_hz(pcm):.0f} Hz, expected {hz}"


@pytest.mark.parametrize("b_incoming", [False, True], ids=["both-offer", "server-offers-b"])
async def test_connected_clients_hear_each_other(media: MediaFactory, b_incoming: bool, relay_path: str) -> None:
    a, leg_a = await media.pair(A_HZ)
    b, leg_b = await media.pair(B_HZ, incoming=b_incoming)
    media.bridge.connect(leg_a, leg_b)
    await a.wait_for_audio()
    await b.wait_for_audio()
    await a.listen(0.3)  # let NetEq-less aiortc jitter buffers fill
    heard_a, heard_b = await a.listen(0.6), b.audio_since(0)
    assert_hears(heard_a, B_HZ)
    assert_hears(heard_b[-len(heard_a):], A_HZ)
    # zero transcode: what was relayed was never decoded, and typically added well under 1 ms
    out = leg_a.outbound
    assert out.forwarded > 20
    assert statistics.median(out.recent_forward_delays_s) < 0.001
    await assert_relayed_by(relay_path, leg_a, leg_b)


async def assert_relayed_by(relay_path: str, *legs: MediaLeg) -> None:
    """The relayed packets take the path under test: all natively (RTCP excepted) once the relay
    is steady (until 15 were, not over a fixed window a loaded machine can come short of), or
    none over the next 0.4 s."""
    growths = [counter_growth(leg) for leg in legs]
    if relay_path == "native":
        await wait_until(lambda: all(grown("relayed") >= 15 for grown in growths))
    else:
        await asyncio.sleep(0.4)
    for leg, grown in zip(legs, growths, strict=True):
        now = native_routes.counters(leg)
        relayed, fallbacks = grown("relayed"), grown("fallbacks")
        if relay_path == "native":
            assert relayed >= 15 and fallbacks <= 2, (relayed, fallbacks)
            assert now["dropped"] == now["send_errors"] == 0, now
        else:
            assert now["relayed"] == 0, now


async def test_echo_returns_own_audio(media: MediaFactory, relay_path: str) -> None:
    a, leg_a = await media.pair(A_HZ)
    media.bridge.echo(leg_a)
    await a.wait_for_audio()
    await a.listen(0.3)
    assert_hears(await a.listen(0.6), A_HZ)
    await assert_relayed_by(relay_path, leg_a)


@pytest.mark.parametrize("clip", ["ringback", "music"])
async def test_generated_audio_reaches_client(media: MediaFactory, clip: str) -> None:
    a, leg_a = await media.pair(A_HZ)
    media.bridge.play(leg_a, clip)
    await a.wait_for_audio()
    heard = await a.listen(0.8)
    assert rms(heard) > AUDIBLE_RMS
    if clip == "ringback":
        assert abs(dominant_hz(heard) - 425) < 25
    else:
        assert abs(dominant_hz(heard) - A_HZ) > 25  # not an echo of the client


async def test_silence_and_mute(media: MediaFactory, relay_path: str) -> None:
    a, leg_a = await media.pair(A_HZ)
    b, leg_b = await media.pair(B_HZ)
    media.bridge.connect(leg_a, leg_b)
    await b.wait_for_audio()
    await b.listen(0.3)
    assert_hears(await b.listen(0.4), A_HZ)

    media.bridge.mute(leg_a)  # a keeps sending; the server stops relaying it
    await b.listen(0.2)
    assert rms(await b.listen(0.5)) < SILENT_RMS
    assert_hears(await a.listen(0.4), B_HZ)  # a still hears b

    media.bridge.unmute(leg_a)
    await b.listen(0.2)
    assert_hears(await b.listen(0.4), A_HZ)
    await assert_relayed_by(relay_path, leg_a, leg_b)


async def test_hold_plays_music_to_held_party_and_stops_holder_audio(media: MediaFactory, relay_path: str) -> None:
    a, leg_a = await media.pair(A_HZ)
    b, leg_b = await media.pair(B_HZ)
    media.bridge.connect(leg_a, leg_b)
    await a.wait_for_audio()
    await b.wait_for_audio()

    media.bridge.hold(leg_a)  # a holds b
    await a.listen(0.2)
    held_b, holder_a = await b.listen(0.8), a.audio_since(0)[-38400:]
    assert rms(held_b) > AUDIBLE_RMS and abs(dominant_hz(held_b) - A_HZ) > 25, "b should hear music, not a"
    assert rms(holder_a) < SILENT_RMS, "a should hear nothing from b"
    assert media.bridge.is_held(leg_b)

    media.bridge.unhold(leg_a)
    await a.listen(0.3)
    assert_hears(await a.listen(0.5), B_HZ)
    assert_hears(b.audio_since(0)[-24000:], A_HZ)
    await assert_relayed_by(relay_path, leg_a, leg_b)
