"""``Speaker``: ``say(text, language)`` as a ``Playback`` of 20 ms Opus packets.

The path of one prompt: the text is checked (1 to 1500 characters, control characters dropped),
the engine names its voice, and the cache key is SHA-256(engine identity, voice, text). Then the
first of: the memory cache (the playback starts with its packets at once), a request already
synthesising the same key (shared), the disk store (read in a thread), or the engine (a
subprocess, at most ``concurrency`` at a time), whose PCM is resampled to 48 kHz and encoded in
a worker thread, then kept in memory and on disk. Nothing of it runs on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from typing import Final

from ..clips import Clip
from ..playback.cache import CacheEntry, ClipCache
from ..playback.handle import FinishedCallback, Playback
from ..playback.pcm import pcm_to_clip
from .engine import SpeechEngine, SpeechError
from .store import PromptStore

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS: Final = 1500
DEFAULT_CONCURRENCY: Final = 2
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: object, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text to speak, or ``SpeechError`` (``empty_text``, ``text_too_long``)."""
    if not isinstance(text, str):
        raise SpeechError("empty_text", f"say() takes a string, not {type(text).__name__}")
    if len(text) > max_chars:
        raise SpeechError("text_too_long", f"{len(text)} characters, the limit is {max_chars}")
    cleaned = _CONTROL.sub(" ", text).strip()
    if not cleaned:
        raise SpeechError("empty_text", "nothing to say")
    return cleaned


class Speaker:
    """Speaks prompts with one engine; one per process (its caches are shared by all calls)."""

    def __init__(self, engine: SpeechEngine | None = None, *, engine_factory: Callable[[], SpeechEngine] | None = None,
                 store: PromptStore | None = None, cache: ClipCache | None = None, max_chars: int = MAX_TEXT_CHARS,
                 concurrency: int = DEFAULT_CONCURRENCY) -> None:
        """``engine``, or ``engine_factory`` to build it (in a thread) on the first prompt."""
        if (engine is None) == (engine_factory is None):
            raise TypeError("give an engine or an engine_factory")
        self._engine = engine
        self._build_engine = engine_factory
        self._engine_lock = asyncio.Lock()
        self.store = store
        self.cache = cache if cache is not None else ClipCache()
        self.max_chars = max_chars
        self._slots = asyncio.Semaphore(concurrency)
        self._identity: str | None = None
        self._voices: dict[str, str] = {}
        self._pending: dict[str, asyncio.Future[Clip]] = {}
        self.synthesized = 0
        "Prompts the engine spoke (neither cache had them)."
        self.from_disk = 0

    @classmethod
    def from_settings(cls) -> Speaker:
        """``TTS_ENGINE`` (built on first use, in a thread) and ``TTS_CACHE_DIR``."""
        from .config import cache_dir_from_settings, engine_from_settings

        directory = cache_dir_from_settings()
        return cls(engine_factory=engine_from_settings, store=PromptStore(directory) if directory else None)

    def say(self, text: str, language: str = "en", on_finished: FinishedCallback | None = None) -> Playback:
        """A playback of ``text`` spoken in ``language``; returns at once.

        A text that cannot be spoken (too long, empty, unknown language, engine failure) ends the
        playback with ``result.error`` (a ``SpeechError``), and ``on_finished`` still fires.
        """
        name = f"say:{language}"
        cached = self._memory_hit(text, language)
        if cached is not None:
            return Playback(name, cached, on_finished=on_finished)
        return Playback(name, self.prompt(text, language), on_finished=on_finished)

    async def prompt(self, text: str, language: str = "en") -> Clip:
        """The encoded prompt (cached); ``SpeechError`` when it cannot be spoken."""
        cleaned = clean_text(text, self.max_chars)
        engine = await self._get_engine()
        voice = self._voices.get(language) or await engine.voice_for(language)
        self._voices[language] = voice
        if self._identity is None:
            self._identity = await engine.identity()
        key = self.key(self._identity, voice, cleaned)
        entry = self.cache.get(key)
        if entry is not None:
            return entry.clip
        pending = self._pending.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():  # this caller was cancelled
                    raise
                return await self.prompt(text, language)  # the producer was: produce it here
        future: asyncio.Future[Clip] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            clip = await self._produce(engine, key, voice, cleaned, language)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters get it too, nothing is logged as lost
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(clip)
        self.cache.put(key, CacheEntry(clip))
        return clip

    @staticmethod
    def key(identity: str, voice: str, text: str) -> str:
        return hashlib.sha256("\0".join((identity, voice, text)).encode("utf-8")).hexdigest()

    # -- internals ---------------------------------------------------------------------------------

    def _memory_hit(self, text: str, language: str) -> Clip | None:
        voice = self._voices.get(language)
        if voice is None or self._identity is None:
            return None
        try:
            cleaned = clean_text(text, self.max_chars)
        except SpeechError:
            return None
        entry = self.cache.get(self.key(self._identity, voice, cleaned))
        return entry.clip if entry is not None else None

    async def _get_engine(self) -> SpeechEngine:
        if self._engine is None:
            async with self._engine_lock:
                if self._engine is None:
                    assert self._build_engine is not None
                    self._engine = await asyncio.to_thread(self._build_engine)  # type: ignore[arg-type]
        return self._engine

    async def _produce(self, engine: SpeechEngine, key: str, voice: str, text: str, language: str) -> Clip:
        name = f"say:{language}"
        if self.store is not None:
            packets = await asyncio.to_thread(self.store.load, key)
            if packets is not None:
                self.from_disk += 1
                return Clip(name=name, packets=packets, loop=False)
        async with self._slots:
            audio = await engine.synthesize(text, voice)
        if len(audio.samples) == 0:
            raise SpeechError("engine_failed", "the engine produced no audio")
        clip = await asyncio.to_thread(pcm_to_clip, name, audio.samples, audio.sample_rate)
        self.synthesized += 1
        logger.debug("synthesised %d chars in %s: %.2f s of audio", len(text), voice, clip.duration_s)
        if self.store is not None:
            try:
                await asyncio.to_thread(self.store.save, key, clip.packets)
            except OSError as exc:  # a full or read-only disk costs the next restart a synthesis, no more
                logger.warning("cannot store prompt %s: %s", key[:12], exc)
        return clip
