"""``Player``: turns a scenario's ``start_playback(url)`` into a ``Playback`` of Opus packets.

Loading never runs on the event loop: the file system (path checks, ``stat``, reading) and the
decoder run in worker threads, downloads on asyncio streams. Decoded clips are cached
(``cache.py``): a local file by path, size and modification time; a URL by its ETag, revalidated
with ``If-None-Match`` each time it is played (a 304 plays the cached packets). A URL answered
without an ETag is not cached.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from ..clips import Clip
from .cache import CacheEntry, ClipCache
from .decode import decode_to_clip
from .fetch import fetch
from .handle import FinishedCallback, Playback, PlaybackError
from .sources import LocalFile, PlaybackConfig, RemoteUrl, local_path, resolve

logger = logging.getLogger(__name__)


class Player:
    """Plays static files and allowed URLs; one per process is enough (its cache is shared)."""

    def __init__(self, config: PlaybackConfig, cache: ClipCache | None = None) -> None:
        self.config = config
        self.cache = cache if cache is not None else ClipCache()
        self.fetches = 0
        "HTTP requests made (conditional ones included)."
        self.decodes = 0
        "Files decoded (cache misses)."

    @classmethod
    def from_settings(cls) -> Player:
        return cls(PlaybackConfig.from_settings())

    def start_playback(self, location: str, *, loop: bool = False,
                       on_finished: FinishedCallback | None = None) -> Playback:
        """A ``Playback`` of ``location`` (a static path or an http(s) URL), loading at once.

        Returns immediately; a location that is refused or cannot be played ends the playback
        with ``result.error`` (and ``on_finished`` is still called).
        """
        return Playback(location, self.load(location), loop=loop, on_finished=on_finished)

    async def load(self, location: str) -> Clip:
        """The clip for ``location`` (cached when possible); ``PlaybackError`` when refused."""
        source = resolve(self.config, location)
        if isinstance(source, LocalFile):
            return await self._load_local(source)
        return await self._load_remote(source)

    async def _load_local(self, source: LocalFile) -> Clip:
        path, size, mtime_ns = await asyncio.to_thread(self._stat, source)
        key = ("file", str(path), size, mtime_ns)
        entry = self.cache.get(key)
        if entry is not None:
            return entry.clip
        self.decodes += 1
        clip = await asyncio.to_thread(self._decode_file, path, source.relative)
        self.cache.put(key, CacheEntry(clip))
        return clip

    def _stat(self, source: LocalFile) -> tuple[Path, int, int]:
        path = local_path(self.config, source)
        st = os.stat(path)
        if st.st_size > self.config.max_bytes:
            raise PlaybackError("too_large", f"{st.st_size} bytes, the limit is {self.config.max_bytes}")
        return path, st.st_size, st.st_mtime_ns

    def _decode_file(self, path: Path, name: str) -> Clip:
        with open(path, "rb") as f:
            data = f.read(self.config.max_bytes + 1)
        if len(data) > self.config.max_bytes:
            raise PlaybackError("too_large", f"more than {self.config.max_bytes} bytes")
        return decode_to_clip(name, data, self.config.max_duration_s)

    async def _load_remote(self, source: RemoteUrl) -> Clip:
        key = ("url", source.url)
        entry = self.cache.get(key)
        self.fetches += 1
        result = await fetch(source.url, self.config.limits, self.config.host_allowed,
                             etag=entry.validator if entry is not None else None)
        if result.status == 304:
            if entry is None:
                raise PlaybackError("http_error", f"HTTP 304 to an unconditional request for {source.url}")
            logger.debug("playback %s: not modified, cached packets", source.url)
            return entry.clip
        assert result.body is not None
        self.decodes += 1
        clip = await asyncio.to_thread(decode_to_clip, source.url, result.body, self.config.max_duration_s)
        if result.etag:
            self.cache.put(key, CacheEntry(clip, result.etag))
        else:
            self.cache.discard(key)
        return clip
