"""G.711 (PCMU/PCMA) as lookup tables, built once from FFmpeg's own codecs (PyAV).

aiortc's ``codecs.g711`` wraps the same FFmpeg codecs in an ``av`` encoder with a resampler per
frame, which costs tens of microseconds of Python per packet; a trunk leg only needs the sample
mapping itself. So each law's full 16-bit encode table (65,536 entries) and 8-bit decode table
(256 entries) is computed once through FFmpeg at first use, and conversion is one numpy ``take``.
"""

from __future__ import annotations

import fractions
from functools import cache
from typing import Final, Literal

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ: Final = 8000
FRAME_SAMPLES: Final = 160
"20 ms at 8 kHz: one G.711 packet is 160 bytes."
CODECS: Final = {"pcmu": "pcm_mulaw", "pcma": "pcm_alaw"}
SILENCE_BYTE: Final = {"pcmu": 0xFF, "pcma": 0xD5}
"The byte of a zero sample in each law."


def _codec(name: str, mode: Literal["r", "w"]) -> av.AudioCodecContext:
    codec = av.CodecContext.create(CODECS[name], mode)
    assert isinstance(codec, av.AudioCodecContext)
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = SAMPLE_RATE_HZ
    if mode == "w":
        codec.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
    return codec


@cache
def _encode_table(name: str) -> npt.NDArray[np.uint8]:
    samples = np.arange(-32768, 32768, dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE_HZ
    frame.pts = 0
    codec = _codec(name, "w")
    data = b"".join(bytes(p) for p in codec.encode(frame)) + b"".join(bytes(p) for p in codec.encode(None))
    table = np.frombuffer(data, dtype=np.uint8)
    assert len(table) == 65536
    return np.roll(table, -32768)  # index by the sample's unsigned 16-bit pattern


@cache
def _decode_table(name: str) -> npt.NDArray[np.int16]:
    codec = _codec(name, "r")
    packet = av.Packet(bytes(range(256)))
    frames = codec.decode(packet)
    table = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)
    assert len(table) == 256
    return table


def encode(name: str, pcm: npt.NDArray[np.int16]) -> bytes:
    """Mono 8 kHz int16 samples → ``pcmu``/``pcma`` bytes."""
    return _encode_table(name).take(pcm.astype(np.int16).view(np.uint16)).tobytes()


def decode(name: str, payload: bytes) -> npt.NDArray[np.int16]:
    """``pcmu``/``pcma`` bytes → mono 8 kHz int16 samples."""
    return _decode_table(name).take(np.frombuffer(payload, dtype=np.uint8))
