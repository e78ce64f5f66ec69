"""Voice activity: is the party talking now? (the scenario ``Call.vad()`` flag).

``EnergyVad`` decides per 20 ms frame of decoded PCM: a frame is voiced when its level is above
an absolute floor (-50 dBFS) and 9 dB above the noise floor, which it tracks (falls at once to a
quieter frame, rises 0.5 dB per frame), so a steady hum or line noise stops counting as voice
after a moment. Activity starts after two voiced frames in a row (a click is not speech) and
holds for ``hangover_s`` after the last one (the gaps between words).

``PacketVad`` feeds it from a leg's Opus packets: the tap only queues the payload; decoding runs
on a shared worker thread (in order per leg, never on the event loop), and changes of the flag
come back to the loop (``on_change``). Decoding happens only while a scenario asked for vad().
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Final

import av
import numpy as np
import numpy.typing as npt

from .clips import FRAME_SAMPLES, SAMPLE_RATE_HZ
from .playback.pcm import frame_to_mono
from .workers import shared_executor

logger = logging.getLogger(__name__)

ABSOLUTE_FLOOR_DBFS: Final = -50.0
MARGIN_DB: Final = 9.0
NOISE_RISE_DB_PER_FRAME: Final = 0.5
ONSET_FRAMES: Final = 2
HANGOVER_S: Final = 0.3
_FULL_SCALE: Final = 32768.0



def frame_dbfs(frame: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> float:
    x = np.asarray(frame, dtype=np.float64) / _FULL_SCALE
    power = float(np.mean(x * x)) if len(x) else 0.0
    return 10 * np.log10(power) if power > 1e-12 else -120.0


class EnergyVad:
    """Energy-based voice activity over mono PCM (any chunk size; analysed per 20 ms at 48 kHz)."""

    def __init__(self, sample_rate: int = SAMPLE_RATE_HZ, hangover_s: float = HANGOVER_S) -> None:
        self._frame = sample_rate * FRAME_SAMPLES // SAMPLE_RATE_HZ
        self._hangover_frames = max(1, round(hangover_s * sample_rate / self._frame))
        self._pending = np.zeros(0, dtype=np.float64)
        self.noise_dbfs = ABSOLUTE_FLOOR_DBFS
        "The tracked noise floor."
        self._voiced_run = 0
        self._since_voiced = self._hangover_frames
        self.active = False
        "Whether the party is talking (as of the last frame fed)."

    def feed(self, pcm: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> bool:
        """Feed samples; returns ``active`` after them."""
        self._pending = np.concatenate([self._pending, np.asarray(pcm, dtype=np.float64).ravel()])
        while len(self._pending) >= self._frame:
            frame, self._pending = self._pending[: self._frame], self._pending[self._frame :]
            self._decide(frame_dbfs(frame))
        return self.active

    def _decide(self, level: float) -> None:
        voiced = level > ABSOLUTE_FLOOR_DBFS and level > self.noise_dbfs + MARGIN_DB
        if level < self.noise_dbfs:
            self.noise_dbfs = level
        else:
            self.noise_dbfs = min(level, self.noise_dbfs + NOISE_RISE_DB_PER_FRAME)
        self._voiced_run = self._voiced_run + 1 if voiced else 0
        self._since_voiced = 0 if voiced else self._since_voiced + 1
        if self._voiced_run >= ONSET_FRAMES:
            self.active = True
        elif self._since_voiced >= self._hangover_frames:
            self.active = False


class PacketVad:
    """``EnergyVad`` on one leg's Opus packets, decoded off the loop."""

    def __init__(self, on_change: Callable[[bool], object] | None = None, name: str = "") -> None:
        self.name = name
        self._on_change = on_change
        self._loop = asyncio.get_running_loop()
        self._vad = EnergyVad()
        self._codec = av.CodecContext.create("libopus", "r")
        self._codec.format = "s16"
        self._codec.layout = "mono"
        self._codec.sample_rate = SAMPLE_RATE_HZ
        self._queue: deque[bytes] = deque(maxlen=250)  # 5 s: if decoding ever falls behind, drop the oldest
        self._lock = threading.Lock()
        self._draining = False
        self._closed = False
        self.active = False
        "The flag as last delivered to the loop."

    def feed(self, payload: bytes) -> None:
        """One received Opus payload (the bridge's tap: an append, at most one job submitted)."""
        if self._closed:
            return
        with self._lock:
            self._queue.append(payload)
            if self._draining:
                return
            self._draining = True
        shared_executor("vad-decode", 2).submit(self._drain)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._queue.clear()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._closed:
                    self._draining = False
                    return
                payload = self._queue.popleft()
            try:
                frames = self._codec.decode(av.Packet(payload))
            except av.FFmpegError as exc:
                logger.debug("[vad %s] undecodable packet: %s", self.name, exc)
                continue
            for frame in frames:
                before = self._vad.active
                if self._vad.feed(frame_to_mono(frame)) != before and not self._closed:
                    self._loop.call_soon_threadsafe(self._deliver, self._vad.active)

    def _deliver(self, active: bool) -> None:
        if self._closed or active == self.active:
            return
        logger.debug("[vad %s] %s -> %s", self.name, "talking" if self.active else "silent",
                     "talking" if active else "silent")
        self.active = active
        if self._on_change is not None:
            self._on_change(active)
