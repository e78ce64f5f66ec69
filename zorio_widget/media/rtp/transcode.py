"""Opus ↔ G.711 transcoding, for the one case where two legs' codecs differ.

Trunk calls normally relay G.711 untouched: the browser leg negotiates PCMU/PCMA when the browser
offers it (docs/DESIGN.md §4b). A leg that must stay on Opus (a call transferred between a browser Opus
leg and a trunk) is bridged through a ``TranscodingAdapter``: packets from one side are decoded,
resampled and encoded for the other in a worker thread of the adapter's own (one per direction, so
order is kept and the event loop only hands payloads over), and the results come back on the loop
through ``deliver``. ``bench/trunk_transcode.py`` measures what it costs per call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fractions
import logging
from collections.abc import Callable
from typing import Final

import av
import numpy as np

from . import g711

logger = logging.getLogger(__name__)

OPUS_RATE_HZ: Final = 48000
OPUS_FRAME_SAMPLES: Final = 960
OPUS_BITRATE_BPS: Final = 32000
MAX_BACKLOG: Final = 25
"Payloads waiting for the worker (500 ms of audio); past that new ones are dropped, not queued."


class OpusToG711:
    """Opus payloads (48 kHz) → 20 ms G.711 payloads (8 kHz)."""

    def __init__(self, law: str) -> None:
        self.law = law
        self._decoder = av.CodecContext.create("opus", "r")
        self._decoder.sample_rate = OPUS_RATE_HZ
        self._decoder.layout = "mono"
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=g711.SAMPLE_RATE_HZ)
        self._pending = np.zeros(0, dtype=np.int16)

    def convert(self, payload: bytes) -> list[bytes]:
        chunks = [self._pending]
        for frame in self._decoder.decode(av.Packet(payload)):
            for out in self._resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.int16))
        pcm = np.concatenate(chunks)
        whole = len(pcm) - len(pcm) % g711.FRAME_SAMPLES
        self._pending = pcm[whole:]
        return [g711.encode(self.law, pcm[i:i + g711.FRAME_SAMPLES]) for i in range(0, whole, g711.FRAME_SAMPLES)]


class G711ToOpus:
    """G.711 payloads (8 kHz) → 20 ms Opus payloads (48 kHz)."""

    def __init__(self, law: str) -> None:
        self.law = law
        self._encoder = av.CodecContext.create("libopus", "w")
        self._encoder.bit_rate = OPUS_BITRATE_BPS
        self._encoder.format = "s16"
        self._encoder.layout = "mono"
        self._encoder.sample_rate = OPUS_RATE_HZ
        self._encoder.time_base = fractions.Fraction(1, OPUS_RATE_HZ)
        self._encoder.options = {"application": "voip"}
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE_HZ,
                                            frame_size=OPUS_FRAME_SAMPLES)
        self._pts = 0

    def convert(self, payload: bytes) -> list[bytes]:
        pcm = g711.decode(self.law, payload)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = g711.SAMPLE_RATE_HZ
        out: list[bytes] = []
        for resampled in self._resampler.resample(frame):
            resampled.pts = self._pts
            self._pts += resampled.samples
            out.extend(bytes(p) for p in self._encoder.encode(resampled))
        return out


class TranscodingAdapter:
    """Converts one direction of a call in a worker thread; results go to ``deliver`` on the loop."""

    def __init__(self, converter: OpusToG711 | G711ToOpus, deliver: Callable[[list[bytes]], None]) -> None:
        self.converter = converter
        self.deliver = deliver
        self._loop = asyncio.get_running_loop()
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcode")
        self._backlog = 0
        self.dropped = 0
        self.converted = 0
        self._closed = False

    def push(self, payload: bytes) -> bool:
        """Queue a payload; ``False`` when the worker is too far behind (the payload is dropped)."""
        if self._closed:
            return False
        if self._backlog >= MAX_BACKLOG:
            self.dropped += 1
            return False
        self._backlog += 1
        self._worker.submit(self._run, payload)
        return True

    def _run(self, payload: bytes) -> None:
        try:
            result = self.converter.convert(payload)
        except (av.FFmpegError, ValueError) as exc:
            logger.debug("transcoding dropped a payload: %s", exc)
            result = []
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._done, result)

    def _done(self, result: list[bytes]) -> None:
        self._backlog -= 1
        self.converted += 1
        if result and not self._closed:
            self.deliver(result)

    def close(self) -> None:
        """Stop taking payloads; the worker thread ends after what it holds."""
        self._closed = True
        self._worker.shutdown(wait=False, cancel_futures=True)
