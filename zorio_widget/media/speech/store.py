"""Synthesised prompts on disk, so a restarted server does not speak its IVR menus again.

One file per prompt, named by its cache key (a SHA-256 of engine identity, voice and text, so
the file name never contains the text), holding the Opus packets: ``ZPK1``, a 32-bit count,
then each packet as a 16-bit length and its bytes. Written to a temporary name and renamed, so
a reader never sees half a file; a file that does not parse is removed and counts as a miss.

Blocking file I/O: ``Speaker`` calls these from a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from pathlib import Path
from typing import Final

MAGIC: Final = b"ZPK1"


def encode_packets(packets: tuple[bytes, ...]) -> bytes:
    parts = [MAGIC, struct.pack("<I", len(packets))]
    for payload in packets:
        parts += [struct.pack("<H", len(payload)), payload]
    return b"".join(parts)


def decode_packets(data: bytes) -> tuple[bytes, ...]:
    """The packets of a file's bytes; ``ValueError`` if it is not one."""
    if data[:4] != MAGIC or len(data) < 8:
        raise ValueError("not a prompt file")
    (count,) = struct.unpack_from("<I", data, 4)
    pos, packets = 8, []
    for _ in range(count):
        (size,) = struct.unpack_from("<H", data, pos)
        payload = data[pos + 2 : pos + 2 + size]
        if len(payload) != size:
            raise ValueError("truncated prompt file")
        packets.append(payload)
        pos += 2 + size
    if pos != len(data):
        raise ValueError("trailing bytes in prompt file")
    return tuple(packets)


class PromptStore:
    """A folder of prompt files (created on first write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("cache keys are hex digests")
        return self.directory / key[:2] / f"{key}.zpk"

    def load(self, key: str) -> tuple[bytes, ...] | None:
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return decode_packets(data)
        except (ValueError, struct.error):
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def save(self, key: str, packets: tuple[bytes, ...]) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(encode_packets(packets))
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
