"""The format of every clip: mono 48 kHz, 20 ms frames, one Opus packet per frame.

Why these numbers: the bridge relays the browser's own Opus packets, and the outbound track
interleaves clips with them on one RTP timeline (``timeline.py``), so a clip must look like a
browser's stream: 48 kHz, 960-sample (20 ms) packets.
"""

from __future__ import annotations

import fractions
from typing import Final

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ: Final = 48000
FRAME_SAMPLES: Final = 960
FRAME_S: Final = FRAME_SAMPLES / SAMPLE_RATE_HZ
OPUS_BITRATE_BPS: Final = 48000

Pcm = npt.NDArray[np.int16]


def encode_opus(pcm: Pcm, *, loop: bool) -> tuple[bytes, ...]:
    """Encode mono 48 kHz PCM (a whole number of frames) into one Opus payload per frame.

    For a loop the signal is encoded twice and the second pass is kept, so the encoder state at
    the loop seam matches the audio that precedes it (no click on each repeat). For a one-shot the
    encoder's 6.5 ms look-ahead lands in the final, silent frames.
    """
    if len(pcm) % FRAME_SAMPLES:
        raise ValueError("PCM length must be a whole number of 20 ms frames")
    n_frames = len(pcm) // FRAME_SAMPLES
    source = np.concatenate([pcm, pcm]) if loop else pcm
    codec = av.CodecContext.create("libopus", "w")
    codec.bit_rate = OPUS_BITRATE_BPS
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = SAMPLE_RATE_HZ
    codec.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
    codec.options = {"application": "audio"}
    packets: list[bytes] = []
    for start in range(0, len(source), FRAME_SAMPLES):
        frame = av.AudioFrame.from_ndarray(
            source[start : start + FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE_HZ
        frame.pts = start
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return tuple(packets[n_frames : 2 * n_frames] if loop else packets[:n_frames])
