"""G.711 (PCMU/PCMA) packets stored as they arrived, in a WAV file any player opens.

A G.711 payload is already one byte per 8 kHz sample, so storing it is a copy: the WAV's format
tag says mu-law (7) or A-law (6) and its data chunk is the payloads back to back. A gap is filled
with the codec's silence byte (0xFF mu-law, 0xD5 A-law), exact to the sample. The header's
sizes are patched on ``close()`` (and the data flushed as it goes: a crash leaves a file whose
header says 0 bytes, which FFmpeg still reads to its end).
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Final

G711_RATE_HZ: Final = 8000
FORMAT_TAGS: Final = {"pcmu": 7, "pcma": 6}
SILENCE_BYTES: Final = {"pcmu": 0xFF, "pcma": 0xD5}
_HEADER_BYTES: Final = 58  # RIFF(12) + fmt with cbSize(26) + fact(12) + data header(8)


class G711WavWriter:
    """Writes one G.711 party track to ``file`` (which it does not close)."""

    def __init__(self, file: BinaryIO, codec: str) -> None:
        if codec not in FORMAT_TAGS:
            raise ValueError(f"not a G.711 codec: {codec!r}")
        self._file = file
        self.codec = codec
        self.samples = 0
        "Samples (= bytes) written so far."
        self._silence = bytes([SILENCE_BYTES[codec]])
        self._file.write(self._header())

    def write(self, payload: bytes) -> None:
        self._file.write(payload)
        self.samples += len(payload)

    def write_silence(self, samples: int) -> None:
        if samples > 0:
            self._file.write(self._silence * samples)
            self.samples += samples

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self.samples & 1:
            self._file.write(b"\0")  # RIFF chunks are padded to an even size
        self._file.seek(0)
        self._file.write(self._header())
        self._file.seek(0, 2)
        self._file.flush()

    def _header(self) -> bytes:
        data = self.samples
        fmt = struct.pack("<HHIIHHH", FORMAT_TAGS[self.codec], 1, G711_RATE_HZ, G711_RATE_HZ, 1, 8, 0)
        return b"".join([
            b"RIFF", struct.pack("<I", _HEADER_BYTES - 8 + data + (data & 1)), b"WAVE",
            b"fmt ", struct.pack("<I", len(fmt)), fmt,
            b"fact", struct.pack("<II", 4, data),
            b"data", struct.pack("<I", data),
        ])
