"""Piper (neural TTS), for an admin who installs its program and downloads its voices.

Nothing of Piper ships with the project, and nothing is downloaded: ``TTS_ENGINE=piper`` needs
``TTS_PIPER_BINARY`` (the ``piper`` executable) and ``TTS_PIPER_VOICES`` (``language=/path/voice.onnx``,
each model with its ``voice.onnx.json`` beside it, as Piper's voices are distributed). Anything
missing is refused when the engine is built, with ``engine_not_configured`` saying what.

Run as ``piper --model VOICE.onnx --output_raw`` with the text on stdin: raw 16-bit mono samples
at the rate the voice's JSON names (``audio.sample_rate``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .engine import SpeechAudio, SpeechError, run_program
from .espeak import LANGUAGE_TAG


def parse_voices(entries: list[str]) -> dict[str, Path]:
    """``["en=/path/en.onnx", ...]`` (the setting's form) -> {language: model path}."""
    voices: dict[str, Path] = {}
    for entry in entries:
        language, sep, path = entry.partition("=")
        if not sep or not LANGUAGE_TAG.fullmatch(language.strip()) or not path.strip():
            raise SpeechError("engine_not_configured", f"TTS_PIPER_VOICES entry {entry!r} is not language=/path.onnx")
        voices[language.strip().lower()] = Path(path.strip())
    return voices


class PiperEngine:
    """``SpeechEngine`` over an admin-provided ``piper`` program and voice models (blocking
    constructor: it checks the files; build it in a worker thread)."""

    def __init__(self, binary: str | Path, voices: Mapping[str, Path]) -> None:
        if not str(binary):
            raise SpeechError("engine_not_configured", "TTS_ENGINE=piper needs TTS_PIPER_BINARY (the piper program)")
        if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
            raise SpeechError("engine_not_configured", f"TTS_PIPER_BINARY {str(binary)!r} is not an executable file")
        if not voices:
            raise SpeechError("engine_not_configured", "TTS_ENGINE=piper needs TTS_PIPER_VOICES (language=/path.onnx)")
        self.binary = str(binary)
        self._voices: dict[str, tuple[Path, int]] = {}
        for language, model in voices.items():
            config = Path(f"{model}.json")
            if not model.is_file() or not config.is_file():
                raise SpeechError("engine_not_configured", f"piper voice {language}: {model} or {config} is missing")
            try:
                rate = int(json.loads(config.read_text())["audio"]["sample_rate"])
            except (ValueError, KeyError, TypeError) as exc:
                raise SpeechError("engine_not_configured", f"{config} has no audio.sample_rate") from exc
            self._voices[language.lower()] = (model, rate)

    async def identity(self) -> str:
        return "piper|" + ",".join(f"{lang}={model}" for lang, (model, _r) in sorted(self._voices.items()))

    async def voice_for(self, language: str) -> str:
        tag = language.lower() if isinstance(language, str) else ""
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate in self._voices:
                return candidate
        raise SpeechError("unknown_language", f"no piper voice configured for {language!r}")

    async def synthesize(self, text: str, voice: str) -> SpeechAudio:
        model, rate = self._voices[voice]
        raw = await run_program([self.binary, "--model", str(model), "--output_raw"], text.encode("utf-8"))
        if len(raw) < 2:
            raise SpeechError("engine_failed", "piper wrote no audio")
        return SpeechAudio(np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16), rate)
