"""DTMF in both forms a leg can receive it.

- RFC 4733 telephone-events (what Chrome's ``RTCDTMFSender`` sends, on the 8000 Hz payload
  type): ``TelephoneEventReceiver`` turns the packet stream into digits, once per event;
  ``telephone_event_packets`` builds what a leg sends for one digit (``OutboundAudio.play_events``).
- In-band dual tones inside the Opus audio (IVRs, old phones, our own tones in tests):
  ``GoertzelDetector`` works on decoded PCM; ``InbandDtmfDecoder`` decodes a leg's packets for it
  in a worker thread, only while detection is switched on (the relay itself never decodes).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import av
import numpy as np
import numpy.typing as npt

from .clips import DTMF_COLS_HZ, DTMF_DIGITS, DTMF_OFF_S, DTMF_ON_S, DTMF_ROWS_HZ, FRAME_S, KEYPAD

logger = logging.getLogger(__name__)

EVENT_END_FLAG: Final = 0x80
EVENT_VOLUME: Final = 10
"-10 dBm0, the usual level (RFC 4733 2.5.2.2)."
EVENT_END_REPEATS: Final = 3
"The end packet is sent three times (RFC 4733 2.5.1.4), back to back as Chrome does."


@dataclass(frozen=True, slots=True)
class EventPacket:
    """One RFC 4733 packet of a digit, as ``OutboundAudio.play_events`` schedules it."""

    payload: bytes
    start: bool = False
    "First packet of an event: marker bit set, the event's timestamp is taken here."
    repeat: bool = False
    "A retransmission of the end packet, sent right after the previous one (no 20 ms slot)."
    gap_after_s: float = 0.0
    "Audio plays this long after this packet before the next event starts."


def telephone_event_payload(event: int, end: bool, duration: int, volume: int = EVENT_VOLUME) -> bytes:
    return struct.pack("!BBH", event, (EVENT_END_FLAG if end else 0) | (volume & 0x3F), duration)


def telephone_event_packets(
    digit: str, clock_rate: int, on_s: float = DTMF_ON_S, off_s: float = DTMF_OFF_S
) -> list[EventPacket]:
    """One digit: a packet every 20 ms with a growing duration (``clock_rate`` units), the last
    one with the E bit sent ``EVENT_END_REPEATS`` times, then ``off_s`` of audio."""
    event = DTMF_DIGITS.index(digit.upper())
    slots = max(1, round(on_s / FRAME_S))
    step = round(clock_rate * FRAME_S)
    packets = [
        EventPacket(telephone_event_payload(event, k == slots - 1, step * (k + 1)), start=k == 0)
        for k in range(slots)
    ]
    packets += [EventPacket(packets[-1].payload, repeat=True) for _ in range(EVENT_END_REPEATS - 1)]
    packets[-1] = dataclasses.replace(packets[-1], gap_after_s=off_s)
    return packets


def parse_telephone_event(payload: bytes) -> tuple[int, bool, int]:
    """``(event, end, duration)`` of an RFC 4733 payload; ``ValueError`` if too short."""
    if len(payload) < 4:
        raise ValueError("telephone-event payload shorter than 4 bytes")
    event, flags, duration = struct.unpack("!BBH", payload[:4])
    return event, bool(flags & EVENT_END_FLAG), duration


class TelephoneEventReceiver:
    """Reports each RFC 4733 event once.

    An event is one RTP timestamp; its end packet is sent three times. We report on the first
    end packet; if every end packet was lost, the event is reported when the next event starts.
    Events above 15 (flash, tones) are ignored.
    """

    def __init__(self) -> None:
        self._reported: set[int] = set()
        self._order: list[int] = []
        self._open: tuple[int, int] | None = None  # (timestamp, event) seen without its end

    def feed(self, payload: bytes, timestamp: int) -> list[str]:
        """Digits completed by this packet (usually none or one)."""
        try:
            event, end, _duration = parse_telephone_event(payload)
        except ValueError:
            return []
        digits: list[str] = []
        if self._open is not None and self._open[0] != timestamp:
            digits += self._report(*self._open)
            self._open = None
        if timestamp in self._reported:
            return digits
        if end:
            self._open = None
            digits += self._report(timestamp, event)
        else:
            self._open = (timestamp, event)
        return digits

    def _report(self, timestamp: int, event: int) -> list[str]:
        if timestamp in self._reported:
            return []
        self._reported.add(timestamp)
        self._order.append(timestamp)
        if len(self._order) > 64:  # bounded memory on long calls
            self._reported.discard(self._order.pop(0))
        return [DTMF_DIGITS[event]] if 0 <= event < len(DTMF_DIGITS) else []


DETECT_RATE_HZ: Final = 8000
BLOCK_SAMPLES: Final = 205
"The classic 205-sample block at 8 kHz (25.6 ms): bins ~39 Hz wide, fits inside a 40 ms tone."
MIN_RMS: Final = 300.0
"About -40 dBFS; quieter blocks are not tones."
MIN_TONE_SHARE: Final = 0.5
"The two tones must carry at least half of the block's energy (speech does not)."
MAX_TWIST: Final = 10.0
"Row/column power ratio tolerated either way (10 dB; Opus and real lines tilt the spectrum)."
MIN_PEAK_RATIO: Final = 4.0
"The strongest row (column) beats the runner-up by 6 dB."
_FREQS: Final = np.array(DTMF_ROWS_HZ + DTMF_COLS_HZ)


def goertzel_powers(block: npt.NDArray[np.float64], freqs: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """Goertzel power of ``block`` at each frequency.

    Computed in closed form, |sum x[n] e^(-j w n)|^2 with w = 2 pi f / rate, which equals the
    Goertzel recurrence's ``s1^2 + s2^2 - 2 cos(w) s1 s2`` for any (non-integer) bin, but runs
    as one numpy product instead of a Python loop per sample.
    """
    n = np.arange(len(block))
    basis = np.exp(-2j * np.pi * np.outer(freqs, n) / rate)
    return np.abs(basis @ block) ** 2


class GoertzelDetector:
    """Detects DTMF digits in mono 16-bit PCM, reporting each key press once."""

    def __init__(self, sample_rate: int = 48000) -> None:
        if sample_rate % DETECT_RATE_HZ:
            raise ValueError("sample rate must be a multiple of 8000 Hz")
        self._decimate = sample_rate // DETECT_RATE_HZ
        self._pending = np.zeros(0, dtype=np.float64)
        self._candidate: str | None = None
        self._candidate_blocks = 0
        self._silent_blocks = 2
        self._pressed: str | None = None

    def feed(self, pcm: npt.NDArray[np.int16]) -> list[str]:
        """Feed mono samples at the constructor's rate; returns newly detected digits."""
        samples = np.asarray(pcm, dtype=np.float64).ravel()
        usable = len(samples) - len(samples) % self._decimate
        # Boxcar average then decimate: a cheap low-pass that keeps 697-1633 Hz within 1 dB.
        down = samples[:usable].reshape(-1, self._decimate).mean(axis=1)
        self._pending = np.concatenate([self._pending, down])
        digits: list[str] = []
        while len(self._pending) >= BLOCK_SAMPLES:
            block, self._pending = self._pending[:BLOCK_SAMPLES], self._pending[BLOCK_SAMPLES:]
            digit = self.classify(block)
            digits += self._debounce(digit)
        return digits

    @staticmethod
    def classify(block: npt.NDArray[np.float64]) -> str | None:
        """The digit a single 8 kHz block holds, or ``None``."""
        energy = float(np.dot(block, block))
        if energy <= 0 or np.sqrt(energy / len(block)) < MIN_RMS:
            return None
        powers = goertzel_powers(block, _FREQS, DETECT_RATE_HZ)
        rows, cols = powers[:4], powers[4:]
        r, c = int(np.argmax(rows)), int(np.argmax(cols))
        row_p, col_p = rows[r], cols[c]
        if row_p < MIN_PEAK_RATIO * np.partition(rows, -2)[-2]:
            return None
        if col_p < MIN_PEAK_RATIO * np.partition(cols, -2)[-2]:
            return None
        if not (1 / MAX_TWIST <= row_p / col_p <= MAX_TWIST):
            return None
        # A pure sine of amplitude A gives power (A N / 2)^2 and energy A^2 N / 2.
        if (row_p + col_p) / (energy * len(block) / 2) < MIN_TONE_SHARE:
            return None
        return KEYPAD[r][c]

    def _debounce(self, digit: str | None) -> list[str]:
        """Report a digit after two equal blocks; a repeat needs two tone-free blocks between."""
        if digit is None:
            self._silent_blocks += 1
            self._candidate, self._candidate_blocks = None, 0
            if self._silent_blocks >= 2:
                self._pressed = None
            return []
        self._silent_blocks = 0
        if digit == self._candidate:
            self._candidate_blocks += 1
        else:
            self._candidate, self._candidate_blocks = digit, 1
        if self._candidate_blocks >= 2 and self._pressed != digit:
            self._pressed = digit
            return [digit]
        return []


class InbandDtmfDecoder:
    """Decodes one leg's Opus packets in a private thread and runs a ``GoertzelDetector``.

    One worker thread keeps packets in order and keeps decoding off the event loop; digits are
    delivered back on the loop through ``on_digit``.
    """

    def __init__(self, on_digit: Callable[[str], None], name: str = "") -> None:
        self._on_digit = on_digit
        self._loop = asyncio.get_running_loop()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"dtmf-{name}")
        self._codec = av.CodecContext.create("libopus", "r")
        self._codec.format = "s16"
        self._codec.layout = "mono"
        self._codec.sample_rate = 48000
        self._detector = GoertzelDetector(48000)
        self._closed = False

    def feed(self, payload: bytes) -> None:
        if not self._closed:
            self._executor.submit(self._work, payload)

    def _work(self, payload: bytes) -> None:
        try:
            frames = self._codec.decode(av.Packet(payload))
        except av.FFmpegError as exc:
            logger.debug("in-band DTMF decode failed: %s", exc)
            return
        for frame in frames:
            for digit in self._detector.feed(frame.to_ndarray()[0]):
                if not self._closed:
                    self._loop.call_soon_threadsafe(self._deliver, digit)

    def _deliver(self, digit: str) -> None:
        if not self._closed:
            self._on_digit(digit)

    def close(self) -> None:
        """Stop accepting packets; the thread exits once its queue drains (never blocks)."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
