"""The clip library: every sound a leg can play, Opus-encoded once per process and shared.

Why: a leg plays ringback, music-on-hold, silence and DTMF tones through the same encoded-packet
track that relays the other party's audio (no encoder per call, docs/DESIGN.md §4b). So every
generated sound (``synth.py``) is encoded with av's libopus encoder (``format.encode_opus``) the
first time it is needed, then the packets are reused by every leg of the process. Music (``*44``
test and music-on-hold) is ``static/sounds/hold-music.opus``, a self-made tune shipped
pre-encoded (``holdmusic.py``); its packets are demuxed, not encoded.

Encoding takes tens of milliseconds, so ``load_clip()`` runs it in a worker thread; the event
loop never encodes. Server processes encode every clip at start-up (``preload_clips_blocking``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from . import holdmusic
from .format import FRAME_S, Pcm, encode_opus
from .synth import DTMF_DIGITS, dtmf_pcm, ringback_pcm, silence_pcm

logger = logging.getLogger(__name__)


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


_GENERATORS: Final[dict[str, tuple[Callable[[], Pcm], bool]]] = {
    "ringback": (ringback_pcm, True),
    "silence": (silence_pcm, True),
    **{f"dtmf:{d}": ((lambda d=d: dtmf_pcm(d)), False) for d in DTMF_DIGITS},  # type: ignore[misc]
}
#: Clips shipped pre-encoded as files (demuxed, never decoded or encoded): music-on-hold and *44.
_FILES: Final[dict[str, Callable[[], tuple[bytes, ...]]]] = {"music": holdmusic.load_packets}
CLIP_NAMES: Final = frozenset(_GENERATORS) | frozenset(_FILES)


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
