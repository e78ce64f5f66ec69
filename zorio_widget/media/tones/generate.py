"""Tone plans to looping clips of 20 ms Opus packets, synthesised and encoded once per process.

Cadences are kept to the sample, not rounded to the 20 ms packet grid (GB busy is 375 ms on,
375 ms off): the clip holds as many periods as it takes to end on a frame boundary (GB busy:
two periods, 1.5 s), so every repeat is exact. Each burst fades in and out over 5 ms (no
clicks); continuous tones loop over one second, which holds whole cycles of integer
frequencies. Looping clips are encoded with ``clips.encode_opus(loop=True)`` (no click at the
seam either).
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Final

import numpy as np
import numpy.typing as npt

from ..clips import FRAME_SAMPLES, SAMPLE_RATE_HZ, TONE_LEVEL, Clip, Pcm, encode_opus
from .plans import TonePlan, normalise, plan_for

RAMP_S: Final = 0.005
PEAK: Final = 1.6 * TONE_LEVEL
"Peak of the sum of a tone's frequencies (-8 dBFS), as loud as the ringback clip."
CONTINUOUS_LOOP_S: Final = 1.0
MAX_LOOP_S: Final = 30.0

_cache: dict[tuple[str, str], Clip] = {}
_lock = threading.Lock()


def loop_samples(plan: TonePlan) -> int:
    """Length of the clip: whole periods ending on a 20 ms frame boundary."""
    if not plan.cadence_s:
        return int(CONTINUOUS_LOOP_S * SAMPLE_RATE_HZ)
    period = round(plan.period_s * SAMPLE_RATE_HZ)
    length = period * FRAME_SAMPLES // math.gcd(period, FRAME_SAMPLES)
    if length > MAX_LOOP_S * SAMPLE_RATE_HZ:
        raise ValueError(f"cadence {plan.cadence_s} does not fit a clip of {MAX_LOOP_S:g} s")
    return length


def tone_pcm(plan: TonePlan) -> Pcm:
    """The clip's samples: the plan's frequencies summed, gated by its cadence."""
    n = loop_samples(plan)
    t = np.arange(n) / SAMPLE_RATE_HZ
    if not plan.cadence_s and any(f != int(f) for f in plan.frequencies_hz):
        raise ValueError("continuous tones loop over 1 s: integer frequencies only")
    signal = sum(np.sin(2 * np.pi * f * t) for f in plan.frequencies_hz) * (PEAK / len(plan.frequencies_hz))
    if plan.cadence_s:
        signal = signal * _gate(plan.cadence_s, n)
    return np.clip(np.asarray(signal) * 32767.0, -32768, 32767).astype(np.int16)


def _gate(cadence_s: tuple[float, ...], n: int) -> npt.NDArray[np.float64]:
    period = round(sum(cadence_s) * SAMPLE_RATE_HZ)
    one = np.zeros(period)
    ramp = int(RAMP_S * SAMPLE_RATE_HZ)
    start = 0
    for index, seconds in enumerate(cadence_s):
        length = round(seconds * SAMPLE_RATE_HZ)
        if index % 2 == 0 and length:
            burst = np.ones(length)
            edge = min(ramp, length // 2)
            burst[:edge] = np.linspace(0, 1, edge)
            burst[length - edge :] = np.linspace(1, 0, edge)
            one[start : start + length] = burst[: period - start]
        start += length
    return np.tile(one, n // period)


def tone_clip_blocking(country: str, kind: str = "ringback") -> Clip:
    """The looping clip of ``country``'s ``kind`` tone, encoded on first use (blocks: a thread)."""
    key = normalise(country, kind)
    clip = _cache.get(key)
    if clip is None:
        with _lock:
            clip = _cache.get(key)
            if clip is None:
                plan = plan_for(*key)
                clip = _cache[key] = Clip(name=f"tone:{key[0]}:{key[1]}", packets=encode_opus(tone_pcm(plan), loop=True),
                                          loop=True)
    return clip


def cached_tone(country: str, kind: str = "ringback") -> Clip | None:
    """The clip if already encoded (never blocks); ``KeyError`` for an unknown tone."""
    return _cache.get(normalise(country, kind))


async def load_tone(country: str, kind: str = "ringback") -> Clip:
    """``tone_clip_blocking`` without blocking the loop."""
    clip = cached_tone(country, kind)
    return clip if clip is not None else await asyncio.to_thread(tone_clip_blocking, country, kind)
