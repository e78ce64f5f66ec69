"""The process's clips (ringback, music, silence, tones) as G.711 packets, converted once.

The clip library (``..clips``) holds Opus packets at 48 kHz. A trunk leg sends G.711, so each clip
it plays is decoded, resampled to 8 kHz and mapped through the G.711 table once per process and law,
in a worker thread (``request``); until then the leg sends silence. Never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

import av
import numpy as np

from .. import clips as opus_clips
from . import g711

logger = logging.getLogger(__name__)

_cache: dict[tuple[str, str], tuple[bytes, ...]] = {}
_pending: set[tuple[str, str]] = set()
_lock = threading.Lock()
_tasks: set[asyncio.Task[None]] = set()


def silence(codec: str) -> bytes:
    return bytes([g711.SILENCE_BYTE[codec]]) * g711.FRAME_SAMPLES


def cached(name: str, codec: str) -> tuple[bytes, ...] | None:
    return _cache.get((name, codec))


def convert_blocking(name: str, codec: str) -> tuple[bytes, ...]:
    """Decode the Opus clip and re-encode it as 20 ms G.711 packets (blocks: a worker thread)."""
    key = (name, codec)
    found = _cache.get(key)
    if found is not None:
        return found
    clip = opus_clips.get_clip_blocking(name)
    decoder = av.CodecContext.create("opus", "r")
    decoder.sample_rate = opus_clips.SAMPLE_RATE_HZ
    decoder.layout = "mono"
    resampler = av.AudioResampler(format="s16", layout="mono", rate=g711.SAMPLE_RATE_HZ)
    samples: list[np.ndarray] = []
    for payload in clip.packets:
        for frame in decoder.decode(av.Packet(payload)):
            for out in resampler.resample(frame):
                samples.append(out.to_ndarray().reshape(-1))
    for out in resampler.resample(None):
        samples.append(out.to_ndarray().reshape(-1))
    pcm = np.concatenate(samples).astype(np.int16) if samples else np.zeros(g711.FRAME_SAMPLES, np.int16)
    usable = len(pcm) - len(pcm) % g711.FRAME_SAMPLES or g711.FRAME_SAMPLES
    pcm = np.resize(pcm, usable)
    data = g711.encode(codec, pcm)
    packets = tuple(data[i:i + g711.FRAME_SAMPLES] for i in range(0, len(data), g711.FRAME_SAMPLES))
    with _lock:
        _cache[key] = packets
    logger.debug("clip %s as %s: %d packets", name, codec, len(packets))
    return packets


async def load(name: str, codec: str) -> tuple[bytes, ...]:
    found = _cache.get((name, codec))
    return found if found is not None else await asyncio.to_thread(convert_blocking, name, codec)


def request(name: str, codec: str) -> None:
    """Start converting a clip in the background if it is not ready (called from the loop)."""
    key = (name, codec)
    if key in _cache or key in _pending:
        return
    _pending.add(key)
    task = asyncio.ensure_future(_convert(key))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _convert(key: tuple[str, str]) -> None:
    try:
        await load(*key)
    except Exception:  # an unknown clip name: the leg keeps sending silence
        logger.exception("could not convert clip %s to %s", *key)
    finally:
        _pending.discard(key)


def loader(codec: str) -> Callable[[str], Awaitable[tuple[bytes, ...]]]:
    """``name → packets`` of one law, for an outbound track that sends G.711 (a browser leg that
    negotiated PCMU/PCMA: ``OutboundAudio.use_codec``)."""

    async def load_for(name: str) -> tuple[bytes, ...]:
        return await load(name, codec)

    return load_for
