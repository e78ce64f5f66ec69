"""Generated audio, Opus-encoded once per process.

Why: a leg plays ringback, music-on-hold, silence and DTMF tones through the same encoded-packet
track that relays the other party's audio (no encoder per call, DESIGN.md §4b). So every
generated sound is synthesised with numpy and encoded with av's libopus encoder the first time it
is needed, then the packets are reused by every leg of the process.

Encoding takes tens of milliseconds, so ``load_clip()`` runs it in a worker thread; the event
loop never encodes.

Ringback: 425 Hz, 1 s on / 4 s off (ITU-T E.180 / CEPT, the tone used in Vietnam and most of
Europe), chosen over the US 440+480 Hz 2 s/4 s cadence because our first deployments are there.
Music (``*44`` test and music-on-hold): ``static/sounds/hold-music.opus``, a self-made 16 s tune
shipped pre-encoded (see ``holdmusic.py``); its packets are demuxed, not encoded.
DTMF: standard dual tones, 100 ms on / 80 ms off (the 20 ms packet grid rounds the usual 70 ms
pause up).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import av
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ: Final = 48000
FRAME_SAMPLES: Final = 960
FRAME_S: Final = FRAME_SAMPLES / SAMPLE_RATE_HZ
OPUS_BITRATE_BPS: Final = 48000

RINGBACK_HZ: Final = 425.0
RINGBACK_ON_S: Final = 1.0
RINGBACK_OFF_S: Final = 4.0
MUSIC_LOOP_S: Final = 4.0
DTMF_ON_S: Final = 0.100
DTMF_OFF_S: Final = 0.080
TONE_LEVEL: Final = 0.25
"Peak amplitude of one sine, as a fraction of full scale (-12 dBFS)."

DTMF_DIGITS: Final = "0123456789*#ABCD"
DTMF_ROWS_HZ: Final = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS_HZ: Final = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYPAD: Final = ("123A", "456B", "789C", "*0#D")

Pcm = npt.NDArray[np.int16]


def dtmf_frequencies(digit: str) -> tuple[float, float]:
    """(row, column) frequencies of a DTMF digit."""
    for r, row in enumerate(_KEYPAD):
        c = row.find(digit.upper())
        if c >= 0:
            return DTMF_ROWS_HZ[r], DTMF_COLS_HZ[c]
    raise ValueError(f"not a DTMF digit: {digit!r}")


@dataclass(frozen=True, slots=True)
class Clip:
    """A pre-encoded sound: one Opus packet per 20 ms frame."""

    name: str
    "Library name, e.g. ``ringback`` or ``dtmf:5``."
    packets: tuple[bytes, ...]
    "Opus payloads, in play order."
    loop: bool
    "Whether the clip repeats forever (ringback, music, silence) or plays once (DTMF)."

    @property
    def duration_s(self) -> float:
        return len(self.packets) * FRAME_S


def _seconds(n_s: float) -> int:
    return int(round(n_s * SAMPLE_RATE_HZ / FRAME_SAMPLES)) * FRAME_SAMPLES


def _to_pcm(signal: npt.NDArray[np.float64]) -> Pcm:
    return np.clip(signal * 32767.0, -32768, 32767).astype(np.int16)


def _sine(freq_hz: float, n: int) -> npt.NDArray[np.float64]:
    return np.sin(2 * np.pi * freq_hz * np.arange(n) / SAMPLE_RATE_HZ)


def ringback_pcm() -> Pcm:
    on, off = _seconds(RINGBACK_ON_S), _seconds(RINGBACK_OFF_S)
    tone = TONE_LEVEL * 1.6 * _sine(RINGBACK_HZ, on)
    ramp = min(480, on // 2)  # 10 ms fades avoid clicks at the cadence edges
    tone[:ramp] *= np.linspace(0, 1, ramp)
    tone[-ramp:] *= np.linspace(1, 0, ramp)
    return _to_pcm(np.concatenate([tone, np.zeros(off)]))


def silence_pcm() -> Pcm:
    return np.zeros(FRAME_SAMPLES * 4, dtype=np.int16)


def dtmf_pcm(digit: str) -> Pcm:
    low, high = dtmf_frequencies(digit)
    on, off = _seconds(DTMF_ON_S), _seconds(DTMF_OFF_S)
    tone = TONE_LEVEL * (_sine(low, on) + _sine(high, on))
    return _to_pcm(np.concatenate([tone, np.zeros(off)]))


def encode_opus(pcm: Pcm, *, loop: bool) -> tuple[bytes, ...]:
    """Encode mono 48 kHz PCM (a whole number of frames) into one Opus payload per frame.

    For a loop the signal is encoded twice and the second pass is kept, so the encoder state at
    the loop seam matches the audio that precedes it (no click on each repeat). For a one-shot the
    encoder's 6.5 ms look-ahead lands in the final, silent frames.
    """
    if len(pcm) % FRAME_SAMPLES:
        raise ValueError("PCM length must be a whole number of 20 ms frames")
    n_frames = len(pcm) // FRAME_SAMPLES
    source = np.concatenate([pcm, pcm]) if loop else pcm
    codec = av.CodecContext.create("libopus", "w")
    codec.bit_rate = OPUS_BITRATE_BPS
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = SAMPLE_RATE_HZ
    codec.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
    codec.options = {"application": "audio"}
    packets: list[bytes] = []
    for start in range(0, len(source), FRAME_SAMPLES):
        frame = av.AudioFrame.from_ndarray(
            source[start : start + FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE_HZ
        frame.pts = start
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return tuple(packets[n_frames : 2 * n_frames] if loop else packets[:n_frames])


_GENERATORS: Final[dict[str, tuple[Callable[[], Pcm], bool]]] = {
    "ringback": (ringback_pcm, True),
    "silence": (silence_pcm, True),
    **{f"dtmf:{d}": ((lambda d=d: dtmf_pcm(d)), False) for d in DTMF_DIGITS},  # type: ignore[misc]
}
#: Clips shipped pre-encoded as files (demuxed, never decoded or encoded): music-on-hold and *44.
_FILES: Final[dict[str, Callable[[], tuple[bytes, ...]]]] = {"music": lambda: _hold_music_packets()}
CLIP_NAMES: Final = frozenset(_GENERATORS) | frozenset(_FILES)


def _hold_music_packets() -> tuple[bytes, ...]:
    from .holdmusic import load_packets

    return load_packets()

_cache: dict[str, Clip] = {}
_cache_lock = threading.Lock()
encode_count = 0
"How many clips this process has encoded (tests assert it never exceeds ``len(CLIP_NAMES)``)."


def get_clip_blocking(name: str) -> Clip:
    """Return a clip, encoding it on first use. Blocks: call from a worker thread."""
    global encode_count
    clip = _cache.get(name)
    if clip is not None:
        return clip
    if name not in CLIP_NAMES:
        raise KeyError(f"unknown clip {name!r}; known: {sorted(CLIP_NAMES)}")
    with _cache_lock:
        clip = _cache.get(name)
        if clip is None and name in _FILES:
            clip = _cache[name] = Clip(name=name, packets=_FILES[name](), loop=True)
            logger.debug("loaded clip %s from file: %d packets", name, len(clip.packets))
        elif clip is None:
            generate, loop = _GENERATORS[name]
            clip = Clip(name=name, packets=encode_opus(generate(), loop=loop), loop=loop)
            _cache[name] = clip
            encode_count += 1
            logger.debug("encoded clip %s: %d packets", name, len(clip.packets))
    return clip


def cached_clip(name: str) -> Clip | None:
    """The clip if it is already encoded (never blocks)."""
    return _cache.get(name)


async def load_clip(name: str) -> Clip:
    """Return a clip; the first call per process encodes it in a worker thread."""
    clip = _cache.get(name)
    if clip is None:
        clip = await asyncio.to_thread(get_clip_blocking, name)
    return clip


def preload_clips_blocking() -> None:
    """Encode every clip now (~0.1 s of CPU), before a server's event loop starts (asgi.py).

    Why at start-up: the first call never waits, and the clips are allocated with the process's
    other long-lived objects rather than in the middle of a burst of calls, where each of them
    would keep a page of call memory resident after the burst (RSS after close, bench.calls)."""
    for name in sorted(CLIP_NAMES):
        get_clip_blocking(name)


async def preload_clips() -> None:
    """``preload_clips_blocking`` from a running event loop (in a worker thread)."""
    await asyncio.to_thread(preload_clips_blocking)
