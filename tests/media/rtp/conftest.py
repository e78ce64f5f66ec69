"""Two RTP sessions on loopback, and tone helpers (G.711 PCM, Goertzel energy)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import numpy.typing as npt
import pytest

from zorio_widget.media.dtmf import goertzel_powers
from zorio_widget.media.rtp import PortRange, RtpSession, g711

RATE = g711.SAMPLE_RATE_HZ


def tone_payloads(freq_hz: float, seconds: float, law: str = "pcmu") -> list[bytes]:
    n = int(RATE * seconds) // g711.FRAME_SAMPLES * g711.FRAME_SAMPLES
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq_hz * np.arange(n) / RATE)).astype(np.int16)
    data = g711.encode(law, pcm)
    return [data[i:i + g711.FRAME_SAMPLES] for i in range(0, len(data), g711.FRAME_SAMPLES)]


def tone_share(pcm: npt.NDArray[np.int16], freq_hz: float) -> float:
    """Share of the signal's energy at ``freq_hz`` (1.0: a pure tone there)."""
    block = pcm.astype(np.float64)
    if not len(block) or not np.any(block):
        return 0.0
    power = goertzel_powers(block, np.array([freq_hz]), RATE)[0]
    return float(power / (np.sum(block ** 2) * len(block) / 2))


@pytest.fixture
async def pair() -> AsyncIterator[tuple[RtpSession, RtpSession]]:
    ports = PortRange(30000, 30999)
    a = RtpSession(ports, local_address="127.0.0.1", leg_id="a", media_timeout_s=0)
    b = RtpSession(ports, local_address="127.0.0.1", leg_id="b", media_timeout_s=0)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()
