"""The generated sounds, as PCM: ringback, silence and DTMF dual tones (encoded by ``library``).

Ringback: 425 Hz, 1 s on / 4 s off (ITU-T E.180 / CEPT, the tone used in Vietnam and most of
Europe), chosen over the US 440+480 Hz 2 s/4 s cadence because our first deployments are there.
DTMF: standard dual tones, 100 ms on / 80 ms off (the 20 ms packet grid rounds the usual 70 ms
pause up). The keypad and its frequencies are also what ``dtmf.py`` detects and sends. National
progress tones (dial, busy, ringback by country) are ``media.tones``, synthesised at ``TONE_LEVEL``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .format import FRAME_SAMPLES, SAMPLE_RATE_HZ, Pcm

RINGBACK_HZ: Final = 425.0
RINGBACK_ON_S: Final = 1.0
RINGBACK_OFF_S: Final = 4.0
MUSIC_LOOP_S: Final = 4.0
DTMF_ON_S: Final = 0.100
DTMF_OFF_S: Final = 0.080
TONE_LEVEL: Final = 0.25
"Peak amplitude of one sine, as a fraction of full scale (-12 dBFS)."

DTMF_DIGITS: Final = "0123456789*#ABCD"
"The 16 DTMF events of RFC 4733, in event-number order."
DTMF_ROWS_HZ: Final = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS_HZ: Final = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD: Final = ("123A", "456B", "789C", "*0#D")
"The keypad by row and column: ``KEYPAD[r][c]`` sounds ``DTMF_ROWS_HZ[r]`` + ``DTMF_COLS_HZ[c]``."


def dtmf_frequencies(digit: str) -> tuple[float, float]:
    """(row, column) frequencies of a DTMF digit."""
    for r, row in enumerate(KEYPAD):
        c = row.find(digit.upper())
        if c >= 0:
            return DTMF_ROWS_HZ[r], DTMF_COLS_HZ[c]
    raise ValueError(f"not a DTMF digit: {digit!r}")


def _seconds(n_s: float) -> int:
    return int(round(n_s * SAMPLE_RATE_HZ / FRAME_SAMPLES)) * FRAME_SAMPLES


def _to_pcm(signal: npt.NDArray[np.float64]) -> Pcm:
    return np.clip(signal * 32767.0, -32768, 32767).astype(np.int16)


def _sine(freq_hz: float, n: int) -> npt.NDArray[np.float64]:
    return np.sin(2 * np.pi * freq_hz * np.arange(n) / SAMPLE_RATE_HZ)


def ringback_pcm() -> Pcm:
    on, off = _seconds(RINGBACK_ON_S), _seconds(RINGBACK_OFF_S)
    tone = TONE_LEVEL * 1.6 * _sine(RINGBACK_HZ, on)
    ramp = min(480, on // 2)  # 10 ms fades avoid clicks at the cadence edges
    tone[:ramp] *= np.linspace(0, 1, ramp)
    tone[-ramp:] *= np.linspace(1, 0, ramp)
    return _to_pcm(np.concatenate([tone, np.zeros(off)]))


def silence_pcm() -> Pcm:
    return np.zeros(FRAME_SAMPLES * 4, dtype=np.int16)


def dtmf_pcm(digit: str) -> Pcm:
    low, high = dtmf_frequencies(digit)
    on, off = _seconds(DTMF_ON_S), _seconds(DTMF_OFF_S)
    tone = TONE_LEVEL * (_sine(low, on) + _sine(high, on))
    return _to_pcm(np.concatenate([tone, np.zeros(off)]))
