"""Music-on-hold: a self-made tune shipped as an Ogg Opus file in `static/sounds/`.

Why a pre-encoded file: the bridge relays encoded packets, so holding a call must not start an
encoder. The file's Opus packets (20 ms each) are demuxed — never decoded — and looped by the
leg's outbound track. `python -m zorio_widget.media.clips.holdmusic` re-composes and re-writes
the file (the tune is generated here, so its licence is ours: CC0).
"""

import fractions
import sys
from pathlib import Path

import av
import numpy as np

from .format import FRAME_SAMPLES, OPUS_BITRATE_BPS, SAMPLE_RATE_HZ, Pcm

HOLD_MUSIC_PATH = Path(__file__).resolve().parents[3] / "static" / "sounds" / "hold-music.opus"
BEAT_S = 0.25
# A I-vi-IV-V progression in C with a simple arpeggiated melody, two bars per chord.
PROGRESSION = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))
MELODY_STEPS = (0, 1, 2, 1, 2, 0, 1, 2)


def compose_pcm() -> Pcm:
    """16 seconds of soft arpeggios over sustained chords, mono 48 kHz, a whole number of frames."""
    beat = int(BEAT_S * SAMPLE_RATE_HZ)
    t = np.arange(beat) / SAMPLE_RATE_HZ
    pluck = np.exp(-5.0 * t) * np.minimum(1.0, t / 0.005)
    bars = []
    for chord in PROGRESSION:
        for repeat in range(2):
            pad_t = np.arange(beat * len(MELODY_STEPS)) / SAMPLE_RATE_HZ
            pad = sum(np.sin(2 * np.pi * (f / 2) * pad_t) for f in chord) * 0.05
            notes = []
            for step in MELODY_STEPS:
                f = chord[step] * (2 if repeat else 1)
                notes.append(pluck * (np.sin(2 * np.pi * f * t) + 0.25 * np.sin(4 * np.pi * f * t)) * 0.22)
            bars.append(pad + np.concatenate(notes))
    signal = np.concatenate(bars)
    signal = signal[: len(signal) - len(signal) % FRAME_SAMPLES]
    return (np.clip(signal, -1, 1) * 32767).astype(np.int16)


def write_file(path: Path = HOLD_MUSIC_PATH) -> None:
    pcm = compose_pcm()
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE_HZ, layout="mono")
        stream.bit_rate = OPUS_BITRATE_BPS
        for start in range(0, len(pcm), FRAME_SAMPLES):
            frame = av.AudioFrame.from_ndarray(pcm[start : start + FRAME_SAMPLES].reshape(1, -1), format="s16",
                                               layout="mono")
            frame.sample_rate = SAMPLE_RATE_HZ
            frame.pts = start
            frame.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def load_packets(path: Path = HOLD_MUSIC_PATH) -> tuple[bytes, ...]:
    """The file's Opus payloads in order, demuxed without decoding."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        if stream.codec_context.name != "opus":
            raise ValueError(f"{path} is not Opus audio")
        return tuple(bytes(p) for p in container.demux(stream) if p.size)


if __name__ == "__main__":
    write_file(Path(sys.argv[1]) if len(sys.argv) > 1 else HOLD_MUSIC_PATH)
    print(f"wrote {HOLD_MUSIC_PATH} ({len(load_packets())} packets)")
