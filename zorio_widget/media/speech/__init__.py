"""Text-to-speech for scenarios: ``say(text, language)`` played like any other prompt.

What the scenario ``Call`` uses::

    speaker = Speaker.from_settings()           # TTS_ENGINE, TTS_CACHE_DIR; one per process
    playback = speaker.say("Xin chào", "vi", on_finished=callback)   # a media.playback.Playback
    clip = await speaker.prompt("Press 1 for sales", "en")           # the packets (IVR menus)

- ``SpeechEngine`` (``engine.py``): ``identity()``, ``voice_for(language)``,
  ``synthesize(text, voice) -> SpeechAudio(samples, sample_rate)``; engines run as asyncio
  subprocesses (text on stdin, deadline, minimal environment).
- ``EspeakEngine`` (default, Debian's espeak-ng: en, vi and ~100 more), ``PiperEngine`` (an
  admin's piper program and voice files; refused with ``engine_not_configured`` when missing), or
  ``TTS_ENGINE=pkg.module:factory``.
- Limits: 1 to 1500 characters (``text_too_long``, ``empty_text``); ``unknown_language``;
  ``engine_failed``. Each ends the playback with ``result.error`` (a ``SpeechError``).
- Cache: memory (LRU by bytes) and disk (``TTS_CACHE_DIR``), keyed by engine identity + voice +
  text; a cached prompt starts playing without waiting for anything.
"""

from .engine import SpeechAudio, SpeechEngine, SpeechError
from .espeak import EspeakEngine
from .piper import PiperEngine
from .speaker import MAX_TEXT_CHARS, Speaker
from .store import PromptStore

__all__ = ["MAX_TEXT_CHARS", "EspeakEngine", "PiperEngine", "PromptStore", "Speaker", "SpeechAudio",
           "SpeechEngine", "SpeechError"]
