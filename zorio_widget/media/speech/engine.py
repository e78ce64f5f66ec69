"""The text-to-speech engine interface, and how an engine program is run without blocking.

An engine turns text in one voice into mono 16-bit PCM at its own rate; ``Speaker`` does the rest
(limits, cache, resampling to 48 kHz, Opus). An admin plugs another engine with ``TTS_ENGINE`` =
``pkg.module:factory``, a callable returning an object with these three coroutines.

Engines run as programs (``run_program``): an asyncio subprocess, the text on stdin (never in
argv, so no text is ever read as an option), a deadline, a bound on what is read back, a minimal
environment (no secret of the server's reaches the program), and the process killed and reaped
on timeout or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..playback import PlaybackError

logger = logging.getLogger(__name__)

PROGRAM_TIMEOUT_S: Final = 30.0
MAX_OUTPUT_BYTES: Final = 64 * 1024 * 1024
"About 25 minutes of 22 kHz speech: far above what 1500 characters give."


class SpeechError(PlaybackError):
    """Why a text was not spoken: ``text_too_long``, ``empty_text``, ``unknown_language``,
    ``engine_not_configured``, ``engine_failed``. A ``PlaybackError``: ``say()`` ends its
    playback with it, like any prompt that cannot play."""


@dataclass(frozen=True, slots=True)
class SpeechAudio:
    """What an engine produced."""

    samples: npt.NDArray[np.int16]
    "Mono 16-bit PCM."
    sample_rate: int


@runtime_checkable
class SpeechEngine(Protocol):
    """A text-to-speech engine (``espeak.py``, ``piper.py``, or an admin's own)."""

    async def identity(self) -> str:
        """Names the engine, its version and configuration: part of every cache key, so a
        changed engine never serves another one's audio."""
        ...

    async def voice_for(self, language: str) -> str:
        """The engine's voice for a BCP 47 language tag (``en``, ``vi``, ``en-US``), or
        ``SpeechError("unknown_language")``."""
        ...

    async def synthesize(self, text: str, voice: str) -> SpeechAudio:
        """Speak ``text`` (already checked by ``Speaker``) in ``voice``; ``SpeechError`` on failure."""
        ...


def program_environment() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"}


async def run_program(argv: list[str], stdin: bytes, timeout_s: float = PROGRAM_TIMEOUT_S,
                      max_output: int = MAX_OUTPUT_BYTES) -> bytes:
    """Run ``argv`` with ``stdin``; its stdout, or ``SpeechError("engine_failed")``."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=program_environment(), start_new_session=True)
    except OSError as exc:
        raise SpeechError("engine_failed", f"cannot start {argv[0]}: {exc}") from exc
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    try:
        async with asyncio.timeout(timeout_s):
            out, err, _ = await asyncio.gather(_read_bounded(process.stdout, max_output),
                                            _read_head(process.stderr, 4096), _feed(process.stdin, stdin))
            code = await process.wait()
    except TimeoutError as exc:
        raise SpeechError("engine_failed", f"{argv[0]} took more than {timeout_s:g} s") from exc
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if code != 0:
        message = err.decode("utf-8", "replace").strip() or f"exit status {code}"
        raise SpeechError("engine_failed", f"{os.path.basename(argv[0])}: {message}")
    return out


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> bytes:
    try:
        stdin.write(data)
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        stdin.close()
    return b""


async def _read_bounded(stream: asyncio.StreamReader, limit: int) -> bytes:
    data = bytearray()
    while chunk := await stream.read(65536):
        data += chunk
        if len(data) > limit:
            raise SpeechError("engine_failed", f"the engine wrote more than {limit} bytes")
    return bytes(data)


async def _read_head(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Drain ``stream`` (so the program never blocks on it), keeping its first ``keep`` bytes."""
    head = bytearray()
    while chunk := await stream.read(65536):
        head += chunk[: max(0, keep - len(head))]
    return bytes(head)
