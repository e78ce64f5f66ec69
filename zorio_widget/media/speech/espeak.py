"""The default engine: espeak-ng from Debian (``apt-get install espeak-ng``), run as a subprocess.

Why espeak-ng: packaged, small, offline, fast (well under a second for a prompt here) and it
speaks both languages the product ships in (``en``, ``vi``) and about a hundred more. Its voice
for a language is the one ``espeak-ng --voices`` lists for it, or, for a bare language such as
``en``, the variant it ranks first for it (``en`` -> ``en-gb``; ask ``en-US`` for American).

``espeak-ng --stdout`` writes a WAV whose size fields are left at "streaming" values, so the
header is read here (RIFF chunks up to ``data``) and the rest of the output is the samples.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
from typing import Final

import numpy as np

from .engine import SpeechAudio, SpeechError, run_program

LANGUAGE_TAG: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")
_ALIAS: Final = re.compile(r"\(([a-z0-9-]+) (\d+)\)")


def parse_wav(data: bytes) -> SpeechAudio:
    """16-bit mono PCM WAV (sizes may be placeholders) to samples; ``engine_failed`` otherwise."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechError("engine_failed", "the engine did not write a WAV file")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body : body + 16])
            if fmt != 1 or channels != 1 or bits != 16:
                raise SpeechError("engine_failed", f"unexpected WAV format {fmt}/{channels} ch/{bits} bit")
        elif chunk == b"data":
            if not rate:
                raise SpeechError("engine_failed", "WAV data before its format")
            pcm = data[body : body + min(size, len(data) - body)]
            return SpeechAudio(np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int16), rate)
        pos = body + size + (size & 1)
    raise SpeechError("engine_failed", "no audio in the engine's WAV")


def parse_voice_list(listing: str) -> dict[str, str]:
    """``espeak-ng --voices`` output -> {language tag: voice}, aliases resolved by their rank."""
    voices: dict[str, str] = {}
    ranked: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 2:
            continue
        language = fields[1].lower()
        voices[language] = language
        for alias, rank in _ALIAS.findall(line):
            if alias not in ranked or int(rank) < ranked[alias][0]:
                ranked[alias] = (int(rank), language)
    for alias, (_rank, language) in ranked.items():
        voices.setdefault(alias, language)
    return voices


class EspeakEngine:
    """``SpeechEngine`` over the ``espeak-ng`` program."""

    def __init__(self, binary: str = "espeak-ng", words_per_minute: int = 160) -> None:
        path = shutil.which(binary)
        if path is None:
            raise SpeechError("engine_not_configured",
                              f"espeak-ng not found ({binary!r}): install the Debian package espeak-ng")
        self.binary = path
        self.words_per_minute = words_per_minute
        self._voices: dict[str, str] | None = None
        self._identity: str | None = None
        self._lock = asyncio.Lock()

    async def identity(self) -> str:
        if self._identity is None:
            version = (await run_program([self.binary, "--version"], b"")).decode("utf-8", "replace").strip()
            self._identity = f"espeak-ng|{version}|{self.words_per_minute}wpm"
        return self._identity

    async def voice_for(self, language: str) -> str:
        if not isinstance(language, str) or not LANGUAGE_TAG.fullmatch(language):
            raise SpeechError("unknown_language", f"not a language tag: {language!r}")
        async with self._lock:
            if self._voices is None:
                listing = await run_program([self.binary, "--voices"], b"")
                self._voices = parse_voice_list(listing.decode("utf-8", "replace"))
        tag = language.lower()
        voice = self._voices.get(tag) or self._voices.get(tag.split("-", 1)[0])
        if voice is None:
            raise SpeechError("unknown_language", f"espeak-ng has no voice for {language!r}")
        return voice

    async def synthesize(self, text: str, voice: str) -> SpeechAudio:
        argv = [self.binary, "--stdout", "-b", "1", "-v", voice, "-s", str(self.words_per_minute)]
        return parse_wav(await run_program(argv, text.encode("utf-8")))
