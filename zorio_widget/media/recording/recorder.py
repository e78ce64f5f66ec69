"""``CallRecorder``: the tap the bridge calls for every packet a party sends, during the call.

The tap (``on_packet``) only appends ``(timestamp, arrival, payload)`` to the party's list: no
decoding, no file access, no task. Every ``BATCH_PACKETS`` packets (one second of 20 ms audio) the
list is handed to the process's recording writer thread, which places and writes them
(``track.py``). ``pause()`` stops storing (the packets are dropped, so the time becomes silence
of the pause's length, in both channels); ``resume()`` stores again; ``stop()`` writes what is
left, pads every track to the recording's length and closes the files (awaiting the writer).

One writer thread serves every recorder of the process: jobs of one recorder run in order, and
the writes of all calls together cost a few percent of a core at the process's call cap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..workers import shared_executor
from .track import Packet, PartyTrack, TrackInfo

logger = logging.getLogger(__name__)

BATCH_PACKETS: Final = 50
CALLER: Final = "caller"
"The party heard on the left channel of the rendered file."
CALLED: Final = "called"
"The party heard on the right channel."



def writer_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The process's recording writer thread (one: each recorder's jobs run in order)."""
    return shared_executor("recording-writer", 1)


class RecordingError(Exception):
    """A recorder asked to do what its state forbids (``not_recording``), or whose files failed
    (``write_failed``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """The tracks of a stopped recorder, ready for ``render.render_stereo``."""

    tracks: dict[str, TrackInfo]
    duration_s: float
    paused_s: float


class CallRecorder:
    """Records the parties of one call, each to its own file (``{party: (codec, path)}``).

    ``clock`` gives the seconds ``arrival`` is measured in (default ``time.monotonic``); the
    recording's time starts when the recorder is built.
    """

    def __init__(self, tracks: Mapping[str, tuple[str, Path]], *, name: str = "",
                 clock: Callable[[], float] = time.monotonic, batch_packets: int = BATCH_PACKETS,
                 executor: concurrent.futures.Executor | None = None) -> None:
        self.name = name
        self._clock = clock
        self._batch = batch_packets
        self._executor = executor or writer_executor()
        self._tracks = {party: PartyTrack(party, codec, Path(path), random.getrandbits(32))
                        for party, (codec, path) in tracks.items()}
        self._buffers: dict[str, list[Packet]] = {party: [] for party in self._tracks}
        self._t0 = clock()
        self._recording = True
        self._state = "recording"
        self._paused_since: float | None = None
        self.paused_s = 0.0
        self._last_job: concurrent.futures.Future[object] | None = None
        self._error: BaseException | None = None
        self.packets_tapped = 0
        logger.info("[recording %s] started: %s", name, ", ".join(f"{p}={c}" for p, (c, _) in tracks.items()))

    @property
    def state(self) -> str:
        """``recording``, ``paused`` or ``stopped``."""
        return self._state

    def on_packet(self, party: str, payload: bytes, timestamp: int, arrival: float | None = None) -> None:
        """One packet ``party`` sent (RTP timestamp in its codec's clock); audio only, not RFC 4733."""
        if not self._recording:
            return
        buffer = self._buffers.get(party)
        if buffer is None:
            return
        buffer.append((timestamp, (self._clock() if arrival is None else arrival) - self._t0, payload))
        if len(buffer) >= self._batch:
            self._flush(party)

    def pause(self) -> None:
        self._set_state("paused", allowed_from=("recording",))
        self._recording = False
        self._paused_since = self._clock()
        for party in self._buffers:
            self._flush(party)

    def resume(self) -> None:
        self._set_state("recording", allowed_from=("paused",))
        if self._paused_since is not None:
            self.paused_s += self._clock() - self._paused_since
            self._paused_since = None
        self._recording = True

    async def stop(self) -> RecordedCall:
        """Finish every track (its time padded to now); raises ``RecordingError`` if a write failed."""
        self._set_state("stopped", allowed_from=("recording", "paused"))
        self._recording = False
        if self._paused_since is not None:
            self.paused_s += self._clock() - self._paused_since
            self._paused_since = None
        for party in self._buffers:
            self._flush(party)
        duration_s = self._clock() - self._t0
        future = self._executor.submit(self._close_all, duration_s)
        infos = await asyncio.wrap_future(future)
        if self._error is not None:
            raise RecordingError("write_failed", f"{type(self._error).__name__}: {self._error}") from self._error
        logger.info("[recording %s] stopped after %.1f s (%.1f s paused): %s", self.name, duration_s, self.paused_s,
                    ", ".join(f"{i.party} {i.packets} packets, {i.silence_s:.1f} s silence" for i in infos.values()))
        return RecordedCall(infos, duration_s, self.paused_s)

    # -- internals ---------------------------------------------------------------------------------

    def _set_state(self, new: str, allowed_from: tuple[str, ...]) -> None:
        if self._state not in allowed_from:
            raise RecordingError("not_recording", f"cannot go {self._state} -> {new}")
        logger.info("[recording %s] %s -> %s", self.name, self._state, new)
        self._state = new

    def _flush(self, party: str) -> None:
        batch = self._buffers[party]
        if not batch:
            return
        self._buffers[party] = []
        self.packets_tapped += len(batch)
        self._last_job = self._executor.submit(self._write, party, batch)

    def _write(self, party: str, batch: list[Packet]) -> None:
        if self._error is not None:
            return
        try:
            self._tracks[party].write_batch(batch)
        except Exception as exc:  # disk full, permissions: reported by stop(), never raised at the tap
            logger.error("[recording %s] %s track failed: %s", self.name, party, exc)
            self._error = exc

    def _close_all(self, duration_s: float) -> dict[str, TrackInfo]:
        infos: dict[str, TrackInfo] = {}
        for party, track in self._tracks.items():
            try:
                infos[party] = track.close(duration_s)
            except Exception as exc:
                self._error = self._error or exc
        return infos
