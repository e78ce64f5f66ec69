"""PCM to and from the pre-encoded Opus form every prompt takes (``clips.Clip``).

Why one place: speech, decoded files and progress tones all become mono 48 kHz 16-bit PCM, then one
Opus payload per 20 ms frame, which a leg's outbound track plays without an encoder of its own
(docs/DESIGN.md §4b). ``OpusFrameEncoder`` encodes incrementally, so a long file never needs its whole
PCM in memory at once.

Everything here is CPU work and blocks: call it from a worker thread, never on the event loop.
"""

from __future__ import annotations

import fractions
from collections.abc import Iterable, Iterator
from typing import Final

import av
import numpy as np

from ..clips import FRAME_SAMPLES, OPUS_BITRATE_BPS, SAMPLE_RATE_HZ, Clip, Pcm

TIME_BASE: Final = fractions.Fraction(1, SAMPLE_RATE_HZ)


def _mono_frame(samples: Pcm, rate: int, pts: int | None = None) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1),
                                       format="s16", layout="mono")
    frame.sample_rate = rate
    if pts is not None:
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, rate)
    return frame


def frame_to_mono(frame: av.AudioFrame) -> Pcm:
    """A decoded s16 frame (mono or interleaved stereo) as mono samples (channels averaged)."""
    data = frame.to_ndarray().reshape(-1)
    channels = len(frame.layout.channels)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return np.asarray(data, dtype=np.int16)


class Resampler:
    """Any rate and layout to mono 48 kHz s16, fed frame by frame (libswresample)."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE_HZ)

    def feed(self, frame: av.AudioFrame | None) -> Pcm:
        """Resampled samples of ``frame`` (``None`` flushes what the filter still holds)."""
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.int16) if out else np.zeros(0, dtype=np.int16)


def resample_mono(samples: Pcm, rate: int) -> Pcm:
    """Mono s16 PCM at ``rate`` to 48 kHz."""
    if rate == SAMPLE_RATE_HZ:
        return np.asarray(samples, dtype=np.int16)
    resampler = Resampler()
    return np.concatenate([resampler.feed(_mono_frame(samples, rate)), resampler.feed(None)])


class OpusFrameEncoder:
    """Mono 48 kHz PCM in, one Opus payload per 20 ms frame out, as the samples arrive.

    ``finish()`` pads the last partial frame with silence and appends one silent frame, so the
    encoder's 6.5 ms look-ahead does not cut off the end of the sound.
    """

    def __init__(self, bitrate_bps: int = OPUS_BITRATE_BPS) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.bit_rate = bitrate_bps
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = SAMPLE_RATE_HZ
        codec.time_base = TIME_BASE
        codec.options = {"application": "audio"}
        self._codec = codec
        self._pending = np.zeros(0, dtype=np.int16)
        self._pts = 0
        self.packets: list[bytes] = []
        "Every payload encoded so far."

    @property
    def samples_in(self) -> int:
        """Samples fed so far (the encoded duration, before ``finish()``'s padding)."""
        return self._pts + len(self._pending)

    def feed(self, pcm: Pcm) -> None:
        self._pending = np.concatenate([self._pending, np.asarray(pcm, dtype=np.int16)])
        whole = len(self._pending) - len(self._pending) % FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._encode(self._pending[start : start + FRAME_SAMPLES])
        self._pending = self._pending[whole:]

    def finish(self) -> tuple[bytes, ...]:
        tail = np.zeros(-len(self._pending) % FRAME_SAMPLES + FRAME_SAMPLES, dtype=np.int16)
        self.feed(tail)
        self.packets.extend(bytes(p) for p in self._codec.encode(None))
        frames = self._pts // FRAME_SAMPLES
        return tuple(self.packets[:frames])

    def _encode(self, samples: Pcm) -> None:
        self.packets.extend(bytes(p) for p in self._codec.encode(_mono_frame(samples, SAMPLE_RATE_HZ, self._pts)))
        self._pts += FRAME_SAMPLES


def pcm_to_clip(name: str, pcm: Pcm, rate: int = SAMPLE_RATE_HZ, loop: bool = False) -> Clip:
    """Mono PCM at any rate as a one-shot (or looping) clip of 20 ms Opus packets."""
    encoder = OpusFrameEncoder()
    encoder.feed(resample_mono(pcm, rate))
    return Clip(name=name, packets=encoder.finish(), loop=loop)


def iter_decoded_opus(packets: Iterable[bytes], channels: int = 1) -> Iterator[Pcm]:
    """Decode Opus payloads one by one (libopus) to mono 48 kHz PCM chunks."""
    codec = av.CodecContext.create("libopus", "r")
    codec.format = "s16"
    codec.layout = "stereo" if channels == 2 else "mono"
    codec.sample_rate = SAMPLE_RATE_HZ
    for payload in packets:
        for frame in codec.decode(av.Packet(payload)):
            yield frame_to_mono(frame)


def decode_opus(packets: Iterable[bytes]) -> Pcm:
    """All of ``packets`` decoded to one mono 48 kHz array (tests, VAD, analysis)."""
    chunks = list(iter_decoded_opus(packets))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
