"""Generated and shipped audio, Opus-encoded once per process: what a leg hears when no one speaks.

- ``format``: the format of every clip (48 kHz, 20 ms Opus packets) and ``encode_opus``;
- ``synth``: ringback, silence and DTMF dual tones as PCM (the DTMF keypad is shared with ``dtmf.py``);
- ``holdmusic``: music-on-hold, a self-made tune shipped as an Ogg Opus file (demuxed, never encoded);
- ``library``: the process's clips by name (``load_clip``, ``cached_clip``, ``preload_clips``; its
  ``encode_count`` counts what this process encoded).
"""

from .format import FRAME_S, FRAME_SAMPLES, OPUS_BITRATE_BPS, SAMPLE_RATE_HZ, Pcm, encode_opus
from .library import (
    CLIP_NAMES,
    Clip,
    cached_clip,
    get_clip_blocking,
    load_clip,
    preload_clips,
    preload_clips_blocking,
)
from .synth import (
    DTMF_COLS_HZ,
    DTMF_DIGITS,
    DTMF_OFF_S,
    DTMF_ON_S,
    DTMF_ROWS_HZ,
    KEYPAD,
    MUSIC_LOOP_S,
    RINGBACK_HZ,
    RINGBACK_OFF_S,
    RINGBACK_ON_S,
    TONE_LEVEL,
    dtmf_frequencies,
    dtmf_pcm,
    ringback_pcm,
    silence_pcm,
)

__all__ = [
    "CLIP_NAMES",
    "DTMF_COLS_HZ",
    "DTMF_DIGITS",
    "DTMF_OFF_S",
    "DTMF_ON_S",
    "DTMF_ROWS_HZ",
    "FRAME_S",
    "FRAME_SAMPLES",
    "KEYPAD",
    "MUSIC_LOOP_S",
    "OPUS_BITRATE_BPS",
    "RINGBACK_HZ",
    "RINGBACK_OFF_S",
    "RINGBACK_ON_S",
    "SAMPLE_RATE_HZ",
    "TONE_LEVEL",
    "Clip",
    "Pcm",
    "cached_clip",
    "dtmf_frequencies",
    "dtmf_pcm",
    "encode_opus",
    "get_clip_blocking",
    "load_clip",
    "preload_clips",
    "preload_clips_blocking",
    "ringback_pcm",
    "silence_pcm",
]
