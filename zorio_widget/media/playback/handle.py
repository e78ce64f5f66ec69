"""``Playback``: one sound being played to a leg, pulled one 20 ms Opus payload at a time.

Why pulled: the leg's outbound track already keeps the 20 ms clock and the RTP timeline
(``outbound.py``); a playback only says what the next frame is. The bridge asks ``next_payload()``
once per frame and plays silence while it answers ``None`` (still loading, or over). A sink that
does not pace itself (a test, an RTP session) uses ``play_into``, which keeps the clock instead.

A playback ends exactly once, with a ``PlaybackResult``: at the pull after its last frame, when
stopped, or when loading failed (then ``result.error`` says why, with a stable code). The
finished callbacks run on the event loop (never inside the caller of ``next_payload``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from ..clips import FRAME_S, Clip

logger = logging.getLogger(__name__)

MAX_PACE_LAG_S: Final = 0.100
"``play_into`` skips ahead instead of bursting when it falls this far behind its clock."


class PlaybackError(Exception):
    """Why a sound cannot be played; ``code`` is stable (events and the scenario API carry it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        "e.g. ``not_found``, ``too_large``, ``unsupported_format``, ``text_too_long``."
        self.message = message


@dataclass(frozen=True, slots=True)
class PlaybackResult:
    """How a playback ended (the payload of the scenario's ``PlaybackFinished``)."""

    name: str
    "What was played: a URL, a static path, ``say:<language>``, ``tone:<country>:<kind>``."
    error: PlaybackError | None = None
    "Set when the sound could not be loaded; then nothing was played."
    stopped: bool = False
    "Ended by ``stop()`` before its end."
    played_s: float = 0.0
    "Audio handed out, in seconds."


FinishedCallback = Callable[[PlaybackResult], object]


class Playback:
    """A sound for one leg: loading, then playing (once or looped), then finished."""

    def __init__(self, name: str, source: Clip | Awaitable[Clip], *, loop: bool = False,
                 on_finished: FinishedCallback | None = None) -> None:
        self.name = name
        self.loop = loop
        self._loop = asyncio.get_running_loop()
        self._clip: Clip | None = None
        self._index = 0
        self._played = 0
        self.done: asyncio.Future[PlaybackResult] = self._loop.create_future()
        "Resolved with the result when the playback ends (never raises)."
        self._ready: asyncio.Future[None] = self._loop.create_future()
        self._load_task: asyncio.Future[Clip] | None = None
        self._runner: asyncio.Task[None] | None = None
        self.loaded_at: float | None = None
        "Loop time when its first frame became available."
        self.started_at = self._loop.time()
        if on_finished is not None:
            self.add_finished_callback(on_finished)
        if isinstance(source, Clip):
            self._start(source)
        else:
            self._load_task = asyncio.ensure_future(source)
            self._runner = self._loop.create_task(self._load(self._load_task), name=f"playback-load {name}")

    @property
    def state(self) -> str:
        """``loading``, ``playing`` or ``finished``."""
        if self.done.done():
            return "finished"
        return "playing" if self._clip is not None else "loading"

    @property
    def duration_s(self) -> float | None:
        """Length of one pass, once loaded."""
        return self._clip.duration_s if self._clip is not None else None

    def add_finished_callback(self, callback: FinishedCallback) -> None:
        """``callback(result)`` once, on the loop, when the playback ends (refuses non-callables)."""
        if not callable(callback):
            raise TypeError(f"on_finished must be callable, not {type(callback).__name__}")
        self.done.add_done_callback(lambda future: callback(future.result()))

    async def ready(self) -> None:
        """Wait until the first frame is available (or the playback ended without one)."""
        waiters: list[asyncio.Future[object]] = [self._ready, self.done]  # type: ignore[list-item]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)

    async def wait(self) -> PlaybackResult:
        return await asyncio.shield(self.done)

    def next_payload(self) -> bytes | None:
        """The next 20 ms Opus payload, or ``None`` (loading or finished: play silence)."""
        clip = self._clip
        if clip is None or self.done.done():
            return None
        if self._index >= len(clip.packets):
            if not self.loop or not clip.packets:
                self._finish(PlaybackResult(self.name, played_s=self.played_s))
                return None
            self._index = 0
        payload = clip.packets[self._index]
        self._index += 1
        self._played += 1
        return payload

    @property
    def played_s(self) -> float:
        return self._played * FRAME_S

    def stop(self) -> None:
        """End now (``result.stopped``); a no-op once finished."""
        if self.done.done():
            return
        if self._load_task is not None:
            self._load_task.cancel()
        self._finish(PlaybackResult(self.name, stopped=True, played_s=self.played_s))

    # -- internals ---------------------------------------------------------------------------------

    async def _load(self, source: asyncio.Future[Clip]) -> None:
        try:
            clip = await source
        except asyncio.CancelledError:
            if source.cancelled():  # stop() while loading: already finished
                return
            raise
        except PlaybackError as exc:
            logger.info("playback %s failed: %s", self.name, exc)
            self._finish(PlaybackResult(self.name, error=exc))
            return
        except Exception as exc:  # a bug or an unexpected library error: still end, with a code
            logger.exception("playback %s failed unexpectedly", self.name)
            self._finish(PlaybackResult(self.name, error=PlaybackError("server_error", str(exc))))
            return
        if not self.done.done():
            self._start(clip)

    def _start(self, clip: Clip) -> None:
        self._clip = clip
        self.loaded_at = self._loop.time()
        if not self._ready.done():
            self._ready.set_result(None)

    def _finish(self, result: PlaybackResult) -> None:
        if not self.done.done():
            logger.debug("playback %s %s -> finished (%s)", self.name, self.state,
                         result.error.code if result.error else "stopped" if result.stopped else "end")
            self.done.set_result(result)


async def play_into(playback: Playback, sink: Callable[[bytes], object], frame_s: float = FRAME_S) -> PlaybackResult:
    """Pace ``playback`` in real time into a sink that does not keep a clock of its own.

    Waits for loading first, then hands one payload to ``sink`` every ``frame_s`` until the
    playback ends; returns its result.
    """
    loop = asyncio.get_running_loop()
    await playback.ready()
    deadline = loop.time()
    while not playback.done.done():
        payload = playback.next_payload()
        if payload is not None:
            sink(payload)
        deadline += frame_s
        now = loop.time()
        if now - deadline > MAX_PACE_LAG_S:
            deadline = now
        await asyncio.sleep(max(0.0, deadline - now))
    return playback.done.result()
