"""Voice activity on real speech (espeak-ng), silence, steady noise and speech over noise, and
from a leg's Opus packets decoded off the loop."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from zorio_widget.media.playback.pcm import OpusFrameEncoder, decode_opus
from zorio_widget.media.speech import EspeakEngine, Speaker
from zorio_widget.media.vad import EnergyVad, PacketVad

RATE = 48000
FRAME = 960


def flags(vad: EnergyVad, pcm: np.ndarray) -> np.ndarray:
    """``active`` after each 20 ms frame."""
    return np.array([vad.feed(pcm[i : i + FRAME]) for i in range(0, len(pcm) - FRAME + 1, FRAME)])


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    async def say() -> np.ndarray:
        clip = await Speaker(EspeakEngine()).prompt("One. Two. Three, four, five.", "en")
        return decode_opus(clip.packets).astype(np.float64)

    return asyncio.run(say())


def test_silence_is_not_voice_and_speech_is(speech: np.ndarray) -> None:
    vad = EnergyVad()
    assert not flags(vad, np.zeros(RATE)).any()
    talk = flags(vad, speech)
    assert talk.mean() > 0.4  # most of a spoken sentence
    assert not talk[:1].any()  # onset needs two voiced frames
    vowel = np.sin(2 * np.pi * 220 * np.arange(RATE // 2) / RATE) * 6000
    burst = flags(vad, np.concatenate([vowel, np.zeros(RATE)]))
    assert burst[2:25].all()  # talking from the second voiced frame
    assert burst[25:38].all() and not burst[42:].any()  # a 0.3 s hangover after the last one, then silent


def test_a_steady_noise_floor_stops_counting_and_speech_over_it_counts(speech: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(RATE * 3) * 32768 * 10 ** (-35 / 20)  # -35 dBFS hiss, above the absolute floor
    vad = EnergyVad()
    noisy = flags(vad, noise)
    assert not noisy[-100:].any()  # adapted: the hiss alone is not talking
    mixed = speech + rng.standard_normal(len(speech)) * 32768 * 10 ** (-35 / 20)
    assert flags(vad, mixed).mean() > 0.3
    assert vad.noise_dbfs < -30


async def test_packet_vad_follows_a_leg_from_its_opus_packets(speech: np.ndarray) -> None:
    encoder = OpusFrameEncoder()
    encoder.feed(np.concatenate([np.zeros(RATE // 2), speech, np.zeros(RATE)]).astype(np.int16))
    packets = encoder.finish()
    changes: list[bool] = []
    vad = PacketVad(on_change=changes.append, name="test")
    for payload in packets[:20]:  # 0.4 s of silence
        vad.feed(payload)
    await asyncio.sleep(0.3)
    assert changes == [] and not vad.active
    for payload in packets[20:]:
        vad.feed(payload)
    for _ in range(200):
        if changes and not vad.active:
            break
        await asyncio.sleep(0.02)
    assert changes[0] is True and changes[-1] is False and not vad.active
    vad.feed(b"\xff\xff")  # not Opus: skipped
    vad.close()
    vad.feed(packets[30])
    await asyncio.sleep(0.1)
    assert not vad.active
