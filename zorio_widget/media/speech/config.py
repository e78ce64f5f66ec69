"""Which engine ``TTS_ENGINE`` names: ``espeak-ng`` (default), ``piper``, or ``pkg.module:factory``.

The only module of the speech package that reads Django's settings (lazily); the rest takes its
engine and folders by injection. Building an engine checks files: call from a worker thread.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .engine import SpeechEngine, SpeechError
from .espeak import EspeakEngine
from .piper import PiperEngine, parse_voices


def load_engine(name: str, espeak_binary: str = "espeak-ng", piper_binary: str = "",
                piper_voices: list[str] | None = None) -> SpeechEngine:
    """The engine ``name`` designates, built; ``SpeechError("engine_not_configured")`` otherwise."""
    if name == "espeak-ng":
        return EspeakEngine(espeak_binary)
    if name == "piper":
        return PiperEngine(piper_binary, parse_voices(piper_voices or []))
    module_name, sep, attribute = name.partition(":")
    if not sep:
        module_name, _, attribute = name.rpartition(".")
    if not module_name or not attribute:
        raise SpeechError("engine_not_configured",
                          f"TTS_ENGINE={name!r}: use espeak-ng, piper or a dotted path pkg.module:factory")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise SpeechError("engine_not_configured", f"TTS_ENGINE={name!r}: {exc}") from exc
    engine = factory()
    if not isinstance(engine, SpeechEngine):
        raise SpeechError("engine_not_configured",
                          f"TTS_ENGINE={name!r} gave {type(engine).__name__}, which lacks identity/voice_for/synthesize")
    return engine


def engine_from_settings() -> SpeechEngine:
    from django.conf import settings

    return load_engine(settings.TTS_ENGINE, settings.TTS_ESPEAK_BINARY, settings.TTS_PIPER_BINARY,
                       list(settings.TTS_PIPER_VOICES))


def cache_dir_from_settings() -> Path | None:
    from django.conf import settings

    return Path(settings.TTS_CACHE_DIR) if settings.TTS_CACHE_DIR else None
