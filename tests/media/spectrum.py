"""Measurements on decoded audio shared by the media package tests (numpy only)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 48000

Samples = npt.NDArray[np.float64] | npt.NDArray[np.int16]


def dominant_hz(pcm: Samples, rate: int = RATE) -> float:
    """Frequency of the strongest FFT bin (Hann window)."""
    x = np.asarray(pcm, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def power_at(pcm: Samples, freq_hz: float, rate: int = RATE, width_hz: float = 15.0) -> float:
    """Share of the signal's power within ``width_hz`` of ``freq_hz``."""
    x = np.asarray(pcm, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    total = float(spectrum.sum()) or 1.0
    return float(spectrum[np.abs(freqs - freq_hz) <= width_hz].sum()) / total


def rms(pcm: Samples) -> float:
    x = np.asarray(pcm, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def envelope(pcm: Samples, window_s: float = 0.01, rate: int = RATE) -> npt.NDArray[np.float64]:
    """RMS per ``window_s`` block."""
    n = int(window_s * rate)
    x = np.asarray(pcm, dtype=np.float64)
    x = x[: len(x) - len(x) % n].reshape(-1, n)
    return np.sqrt(np.mean(x * x, axis=1))


def smoothed_power(pcm: Samples, hop_s: float = 0.005, window_s: float = 0.04,
                   rate: int = RATE) -> npt.NDArray[np.float64]:
    """Mean power over ``window_s`` (centred) every ``hop_s``: long enough to ride over the beats
    of a dual tone (40-140 Hz here), so a sounding tone stays "on" between its edges."""
    x = np.asarray(pcm, dtype=np.float64)
    width = int(window_s * rate)
    power = np.convolve(x * x, np.ones(width) / width, mode="same")
    return power[:: int(hop_s * rate)]


def on_off_runs(pcm: Samples, hop_s: float = 0.005, rate: int = RATE) -> list[tuple[bool, float]]:
    """The signal as alternating (sounding, seconds) runs: sounding where the smoothed power is
    above half its typical sounding level (which puts the edges where the bursts start and stop)."""
    power = smoothed_power(pcm, hop_s, rate=rate)
    on = power > 0.5 * np.percentile(power, 95)
    runs: list[tuple[bool, float]] = []
    for flag in on:
        if runs and runs[-1][0] == bool(flag):
            runs[-1] = (runs[-1][0], runs[-1][1] + hop_s)
        else:
            runs.append((bool(flag), hop_s))
    return runs
