"""Audio files (mp3, Ogg Vorbis/Opus/FLAC, FLAC, WAV) to a clip of 20 ms Opus packets, with PyAV.

Why the container is chosen from the file's first bytes: FFmpeg would otherwise probe the data
with every demuxer it has; here only the four accepted ones ever see a file, and anything else is
``unsupported_format`` before decoding starts. Decoding, resampling (to mono 48 kHz) and encoding
stream frame by frame and stop at ``max_duration_s`` (``too_long``).

Blocking CPU work: ``Player`` runs ``decode_to_clip`` in a worker thread.
"""

from __future__ import annotations

import io
from typing import Final

import av

from ..clips import SAMPLE_RATE_HZ, Clip
from .handle import PlaybackError
from .pcm import OpusFrameEncoder, Resampler

AUDIO_CODECS: Final = frozenset({"mp3", "mp3float", "vorbis", "opus", "libopus", "flac"})
"Decoders accepted besides WAV's ``pcm_*`` family."


def sniff_format(data: bytes) -> str:
    """The demuxer for ``data`` (``wav``, ``ogg``, ``flac``, ``mp3``) from its magic bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    raise PlaybackError("unsupported_format", "not an mp3, ogg, flac or wav file")


def decode_to_clip(name: str, data: bytes, max_duration_s: float, loop: bool = False) -> Clip:
    """Decode a whole file held in memory; ``PlaybackError`` when it is not playable audio."""
    fmt = sniff_format(data)
    encoder = OpusFrameEncoder()
    resampler = Resampler()
    limit = int(max_duration_s * SAMPLE_RATE_HZ)
    try:
        with av.open(io.BytesIO(data), mode="r", format=fmt) as container:
            if not container.streams.audio:
                raise PlaybackError("unsupported_format", "the file has no audio stream")
            stream = container.streams.audio[0]
            codec = stream.codec_context.name
            if codec not in AUDIO_CODECS and not codec.startswith("pcm_"):
                raise PlaybackError("unsupported_format", f"audio codec {codec!r} is not accepted")
            for frame in container.decode(stream):
                encoder.feed(resampler.feed(frame))
                if encoder.samples_in > limit:
                    raise PlaybackError("too_long", f"longer than {max_duration_s:g} s")
            encoder.feed(resampler.feed(None))
    except av.FFmpegError as exc:
        raise PlaybackError("decode_failed", f"{fmt}: {exc}") from exc
    if encoder.samples_in == 0:
        raise PlaybackError("decode_failed", "no audio decoded")
    return Clip(name=name, packets=encoder.finish(), loop=loop)
