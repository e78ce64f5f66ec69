"""After the call: the parties' tracks rendered into one stereo Ogg Opus file.

Left channel: the caller's side; right: the called party's (docs/DESIGN.md §6c). Both tracks already
hold the call's time (silence for pauses and gaps, ``track.py``), so rendering is decoding each
(Ogg Opus or G.711 WAV, resampled to 48 kHz), pairing their samples frame by frame and encoding
stereo Opus (48 kbps by default, never under 24). It streams: memory stays flat for any length.

``render_stereo`` runs it in a separate Python process (``python -m zorio_widget.media.recording.render``)
so a long render takes no time from the event loop or the GIL of the server; the file appears
under its final name only when complete.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import av
import numpy as np

from ..clips import FRAME_SAMPLES, SAMPLE_RATE_HZ, Pcm
from ..playback.pcm import Resampler
from .recorder import CALLED, CALLER, RecordedCall

STEREO_BITRATE_BPS: Final = 48000
MIN_BITRATE_BPS: Final = 24000
RENDER_TIMEOUT_S: Final = 600.0
PACKAGE_PARENT: Final = Path(__file__).resolve().parents[3]
"Where ``python -m zorio_widget...`` finds the package (the child may start from any folder)."


@dataclass(frozen=True, slots=True)
class RenderResult:
    path: Path
    duration_s: float
    elapsed_s: float
    "Wall time the render took."


def _decoded(path: Path | None) -> Iterator[Pcm]:
    """A track decoded to mono 48 kHz chunks (nothing for a party that never sent audio)."""
    if path is None or not path.exists():
        return
    resampler = Resampler()
    try:
        container = av.open(str(path), mode="r")
    except (av.error.EOFError, av.error.InvalidDataError):
        return  # a track that ended before its first page (a call recorded for a few ms): silence
    with container:
        for frame in container.decode(audio=0):
            yield resampler.feed(frame)
    yield resampler.feed(None)


class _Frames:
    """Re-chunks a stream of PCM arrays into exact 20 ms frames, zeros after its end."""

    def __init__(self, chunks: Iterator[Pcm]) -> None:
        self._chunks = chunks
        self._pending = np.zeros(0, dtype=np.int16)
        self.ended = False

    def take(self) -> Pcm:
        while len(self._pending) < FRAME_SAMPLES and not self.ended:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.ended = True
            else:
                self._pending = np.concatenate([self._pending, chunk])
        frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        part = self._pending[:FRAME_SAMPLES]
        frame[: len(part)] = part
        self._pending = self._pending[FRAME_SAMPLES:]
        return frame

    @property
    def exhausted(self) -> bool:
        return self.ended and not len(self._pending)


def render_stereo_blocking(left: Path | None, right: Path | None, out: Path, duration_s: float | None = None,
                           bitrate_bps: int = STEREO_BITRATE_BPS) -> RenderResult:
    """Render now, in this thread (the subprocess's body; also for tools and benchmarks)."""
    started = time.perf_counter()
    bitrate_bps = max(bitrate_bps, MIN_BITRATE_BPS)
    # at least one frame: a call recorded for less than 20 ms still gets a (silent) file
    limit = None if duration_s is None else max(1, round(duration_s * SAMPLE_RATE_HZ / FRAME_SAMPLES))
    channels = [_Frames(_decoded(left)), _Frames(_decoded(right))]
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.part")
    frames = 0
    try:
        with av.open(str(temporary), mode="w", format="ogg") as container:
            stream = container.add_stream("libopus", rate=SAMPLE_RATE_HZ, layout="stereo")
            stream.bit_rate = bitrate_bps
            while limit is None or frames < limit:
                pair = [c.take() for c in channels]
                if limit is None and all(c.exhausted for c in channels) and not pair[0].any() and not pair[1].any():
                    break
                interleaved = np.column_stack(pair).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
                frame.sample_rate = SAMPLE_RATE_HZ
                frame.pts = frames * FRAME_SAMPLES
                frame.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
                container.mux(stream.encode(frame))
                frames += 1
            container.mux(stream.encode(None))
        os.replace(temporary, out)
    finally:
        if temporary.exists():
            temporary.unlink()
    return RenderResult(out, frames * FRAME_SAMPLES / SAMPLE_RATE_HZ, time.perf_counter() - started)


class RenderError(Exception):
    """The render process failed (its error output is in the message)."""


async def render_stereo(left: Path | None, right: Path | None, out: Path, duration_s: float | None = None,
                        bitrate_bps: int = STEREO_BITRATE_BPS, timeout_s: float = RENDER_TIMEOUT_S) -> RenderResult:
    """``render_stereo_blocking`` in a child process; the event loop only waits for it."""
    argv = [sys.executable, "-m", __name__, "--out", str(out), "--bitrate", str(bitrate_bps)]
    argv += ["--left", str(left)] if left else []
    argv += ["--right", str(right)] if right else []
    argv += ["--duration", repr(duration_s)] if duration_s is not None else []
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE, cwd=PACKAGE_PARENT)
    try:
        async with asyncio.timeout(timeout_s):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RenderError(f"exit status {process.returncode}: {stderr.decode('utf-8', 'replace')[-2000:]}")
    report = json.loads(stdout)
    return RenderResult(Path(report["path"]), report["duration_s"], report["elapsed_s"])


async def render_call(recorded: RecordedCall, out: Path, keep_tracks: bool = False,
                      bitrate_bps: int = STEREO_BITRATE_BPS) -> RenderResult:
    """A stopped recorder's tracks -> ``out`` (caller left, called right, the recording's length);
    the track files are removed afterwards unless ``keep_tracks``."""
    left, right = (recorded.tracks[p].path if p in recorded.tracks else None for p in (CALLER, CALLED))
    result = await render_stereo(left, right, out, recorded.duration_s, bitrate_bps)
    if not keep_tracks:
        for info in recorded.tracks.values():
            await asyncio.to_thread(info.path.unlink, missing_ok=True)
    return result


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render a call's party tracks into one stereo Ogg Opus file.")
    parser.add_argument("--left", type=Path, help="the caller's track (Ogg Opus or G.711 WAV)")
    parser.add_argument("--right", type=Path, help="the called party's track")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--duration", type=float, help="seconds (default: the longer track)")
    parser.add_argument("--bitrate", type=int, default=STEREO_BITRATE_BPS)
    ns = parser.parse_args(args)
    result = render_stereo_blocking(ns.left, ns.right, ns.out, ns.duration, ns.bitrate)
    print(json.dumps({"path": str(result.path), "duration_s": result.duration_s, "elapsed_s": result.elapsed_s}))


if __name__ == "__main__":
    main()
