"""An in-memory LRU of encoded clips, bounded by bytes, with the validator each was fetched with.

Why bytes, not entries: a cached clip is its Opus packets (~6 KB per second of audio); a process
playing many long files must not grow without bound. The playback cache keys URLs (validated by
ETag: a conditional GET on every use, a 304 reuses the packets) and local files (keyed by path,
size and modification time); the speech cache keys engine, voice and text.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from ..clips import Clip

DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CacheEntry:
    clip: Clip
    validator: str | None = None
    "The ETag the clip was fetched with (``None`` for local files and speech)."

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.clip.packets) + 40 * len(self.clip.packets)


class ClipCache:
    """Least-recently-used clips up to ``max_bytes`` (event-loop side only: not thread-safe)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[object, CacheEntry] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: object) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: object, entry: CacheEntry) -> None:
        self.discard(key)
        if entry.size > self.max_bytes:
            return
        self._entries[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size

    def discard(self, key: object) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
