"""One party's side of a recording: where each packet belongs in time, and its file.

Runs in the recording writer thread (``recorder.py`` hands it batches). Placement: the first
packet is placed by its arrival (seconds since the recording started); each later one by its RTP
timestamp relative to that anchor, which keeps the sender's own spacing whatever the network
jitter. When the timestamp and the arrival disagree by more than ``RESYNC_S`` (the sender
restarted its stream, changed SSRC, or stopped its clock while silent), the packet re-anchors on
its arrival. Packets are written in timeline order through a small reorder window; a packet that
lands before what is already written (duplicate, very late) is dropped; time with no packet (loss,
pause, DTX, hold) becomes silence of that length, so the file's time is the call's time.

Opus tracks: Ogg Opus, silence as a pre-encoded silent 20 ms packet (gaps rounded to 20 ms, the
error never accumulating). G.711 tracks: WAV with silence bytes, exact to the sample.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from .g711wav import FORMAT_TAGS, G711_RATE_HZ, G711WavWriter
from .oggopus import OPUS_RATE_HZ, OggOpusWriter, opus_packet_samples

RESYNC_S: Final = 0.5
REORDER_PACKETS: Final = 8
"Packets held back to be put in order (160 ms of 20 ms packets)."
CODECS: Final = ("opus", *FORMAT_TAGS)
EXTENSIONS: Final = {"opus": ".opus", "pcmu": ".wav", "pcma": ".wav"}

Packet = tuple[int, float, bytes]
"(RTP timestamp, arrival seconds since the recording started, payload)."


def _signed32(delta: int) -> int:
    delta &= 0xFFFFFFFF
    return delta - (1 << 32) if delta & 0x80000000 else delta


def _silent_opus_packet() -> bytes:
    """A 20 ms Opus packet of digital silence (encoded once, from the shared silence clip)."""
    from ..clips import get_clip_blocking

    return get_clip_blocking("silence").packets[-1]


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """What a finished track holds."""

    party: str
    codec: str
    path: Path
    packets: int
    "Packets stored."
    dropped: int
    "Packets not stored (duplicates, too late, not decodable as the codec)."
    silence_s: float
    "Time filled with silence (loss, pauses, DTX, padding to the recording's end)."
    duration_s: float


class PartyTrack:
    """Places one party's packets on the recording's timeline and writes them (writer thread only)."""

    def __init__(self, party: str, codec: str, path: Path, serial: int) -> None:
        if codec not in CODECS:
            raise ValueError(f"cannot record codec {codec!r}; recordable: {CODECS}")
        self.party = party
        self.codec = codec
        self.path = path
        self.rate = OPUS_RATE_HZ if codec == "opus" else G711_RATE_HZ
        self._serial = serial
        self._file: BinaryIO | None = None
        self._ogg: OggOpusWriter | None = None
        self._wav: G711WavWriter | None = None
        self._anchor: tuple[int, int] | None = None  # (position, RTP timestamp)
        self._heap: list[tuple[int, int, bytes, int]] = []  # (position, order, payload, samples)
        self._order = itertools.count()
        self._end = 0
        "Timeline position (samples) up to which the file is written."
        self.packets = 0
        self.dropped = 0
        self._silence_samples = 0

    def write_batch(self, batch: list[Packet]) -> None:
        self._open()
        for timestamp, arrival_s, payload in batch:
            samples = self._samples_of(payload)
            if samples == 0:
                self.dropped += 1
                continue
            position = self._place(timestamp, arrival_s)
            heapq.heappush(self._heap, (position, next(self._order), payload, samples))
            if len(self._heap) > REORDER_PACKETS:
                self._emit(*heapq.heappop(self._heap))
        if self._ogg is not None:
            self._ogg.flush()
        elif self._wav is not None:
            self._wav.flush()

    def close(self, duration_s: float) -> TrackInfo:
        """Write what is held back, pad with silence to ``duration_s``, finish the file."""
        self._open()
        while self._heap:
            self._emit(*heapq.heappop(self._heap))
        self._silence_until(round(duration_s * self.rate))
        if self._ogg is not None:
            self._ogg.close()
        elif self._wav is not None:
            self._wav.close()
        assert self._file is not None
        self._file.close()
        return TrackInfo(self.party, self.codec, self.path, self.packets, self.dropped,
                         self._silence_samples / self.rate, self._end / self.rate)

    # -- internals ---------------------------------------------------------------------------------

    def _open(self) -> None:
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w+b")  # noqa: SIM115 (closed in close())
        if self.codec == "opus":
            self._ogg = OggOpusWriter(self._file, self._serial)
        else:
            self._wav = G711WavWriter(self._file, self.codec)

    def _samples_of(self, payload: bytes) -> int:
        return opus_packet_samples(payload) if self.codec == "opus" else len(payload)

    def _place(self, timestamp: int, arrival_s: float) -> int:
        by_arrival = round(arrival_s * self.rate)
        if self._anchor is not None:
            position = self._anchor[0] + _signed32(timestamp - self._anchor[1])
            if abs(position - by_arrival) <= RESYNC_S * self.rate:
                return position
        self._anchor = (by_arrival, timestamp)
        return by_arrival

    def _emit(self, position: int, _order: int, payload: bytes, samples: int) -> None:
        if position + samples // 2 < self._end:  # overlaps what is written: duplicate or too late
            self.dropped += 1
            return
        self._silence_until(position)
        if self._ogg is not None:
            self._ogg.write(payload, samples)
        elif self._wav is not None:
            self._wav.write(payload)
        self._end += samples
        self.packets += 1

    def _silence_until(self, position: int) -> None:
        gap = position - self._end
        if self._wav is not None:
            if gap > 0:
                self._wav.write_silence(gap)
                self._end += gap
                self._silence_samples += gap
            return
        assert self._ogg is not None
        frame = OPUS_RATE_HZ // 50
        frames = (gap + frame // 2) // frame
        if frames > 0:
            silent = _silent_opus_packet()
            for _ in range(frames):
                self._ogg.write(silent, frame)
            self._end += frames * frame
            self._silence_samples += frames * frame
