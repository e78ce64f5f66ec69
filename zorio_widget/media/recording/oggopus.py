"""Ogg Opus files written from encoded packets (RFC 7845), without an encoder or a decoder.

Why by hand: a party's packets are stored as they arrived (docs/DESIGN.md §4b: no decoding during the
call), and FFmpeg's muxer wants an opened encoder to describe the stream. An Ogg Opus file is
simple: an ``OpusHead`` page, an ``OpusTags`` page, then pages of packets, each page stamped
with the granule position (48 kHz samples) at the end of its last packet (RFC 7845 §4), CRC-32
checked (RFC 3533).

``opus_packet_samples`` reads a packet's duration from its TOC byte (RFC 6716 §3.1), so
timestamps and granule positions stay right for any frame size the far end chooses.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO, Final

OPUS_RATE_HZ: Final = 48000
VENDOR: Final = b"zorio-webphone"
PAGE_MAX_PACKETS: Final = 50
"A page is written every second of 20 ms packets (and the file flushed): a crash loses at most that."
_FRAME_SAMPLES_BY_CONFIG: Final = (
    [480, 960, 1920, 2880] * 3  # SILK-only 10/20/40/60 ms
    + [480, 960] * 2  # hybrid 10/20 ms
    + [120, 240, 480, 960] * 4  # CELT-only 2.5/5/10/20 ms
)
_REVERSED_BITS: Final = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def opus_packet_samples(payload: bytes) -> int:
    """Samples at 48 kHz an Opus packet decodes to; 0 when it is not a valid packet."""
    if not payload:
        return 0
    toc = payload[0]
    frame = _FRAME_SAMPLES_BY_CONFIG[toc >> 3]
    code = toc & 0x03
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    else:
        if len(payload) < 2:
            return 0
        count = payload[1] & 0x3F
    samples = frame * count
    return samples if 0 < samples <= 5760 else 0  # a packet holds at most 120 ms


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, MSB first, no reflection, init 0, no final xor).

    zlib computes the reflected variant of the same polynomial in C; reflecting each input byte
    and the result converts one into the other, ~100x faster than a Python loop."""
    raw = zlib.crc32(data.translate(_REVERSED_BITS), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def opus_head(channels: int = 1, pre_skip: int = 0, input_rate: int = OPUS_RATE_HZ) -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, input_rate, 0, 0)


def opus_tags() -> bytes:
    return b"OpusTags" + struct.pack("<I", len(VENDOR)) + VENDOR + struct.pack("<I", 0)


class OggOpusWriter:
    """Writes one logical Opus stream to ``file`` (which it does not close)."""

    def __init__(self, file: BinaryIO, serial: int, channels: int = 1) -> None:
        self._file = file
        self._serial = serial & 0xFFFFFFFF
        self._sequence = 0
        self._packets: list[bytes] = []
        self._segments = 0
        self.granule = 0
        "Samples written so far (48 kHz)."
        self._write_page([opus_head(channels)], granule=0, flags=0x02)
        self._write_page([opus_tags()], granule=0)

    def write(self, payload: bytes, samples: int) -> None:
        """Append one packet of ``samples`` (its duration at 48 kHz)."""
        self._packets.append(payload)
        self._segments += len(payload) // 255 + 1
        self.granule += samples
        if len(self._packets) >= PAGE_MAX_PACKETS or self._segments > 200:
            self.flush()

    def flush(self) -> None:
        """Write the packets so far as a page (and the file's buffer to the OS)."""
        if self._packets:
            self._write_page(self._packets, self.granule)
            self._packets, self._segments = [], 0
        self._file.flush()

    def close(self) -> None:
        """Write the last page with the end-of-stream flag."""
        self._write_page(self._packets, self.granule, flags=0x04)
        self._packets, self._segments = [], 0
        self._file.flush()

    def _write_page(self, packets: list[bytes], granule: int, flags: int = 0) -> None:
        lacing = bytearray()
        for payload in packets:
            lacing += b"\xff" * (len(payload) // 255) + bytes([len(payload) % 255])
        if len(lacing) > 255:
            raise ValueError("page too large")
        header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, self._serial, self._sequence, 0, len(lacing))
        page = bytearray(header + lacing + b"".join(packets))
        struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
        self._file.write(page)
        self._sequence += 1
