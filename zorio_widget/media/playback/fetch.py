"""A small HTTP/1.1 GET over asyncio streams, for playback files only.

Why not a library: the project has no HTTP client dependency and playback needs only one request
shape: GET with a conditional ``If-None-Match``, a hard size limit enforced while reading, a
connect timeout and a total deadline, and redirects re-checked against the allowed hosts. Nothing
here decides *whether* a URL may be fetched: ``sources.py`` checks the host before calling, and
``fetch`` checks every redirect target with the same rule.

Errors are ``PlaybackError`` codes: ``http_error`` (any status but 200/304, with the status in the
message), ``too_large``, ``timeout``, ``fetch_failed`` (network or protocol), ``host_not_allowed``
(a redirect elsewhere).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin, urlsplit

from .handle import PlaybackError

MAX_HEADER_BYTES: Final = 32 * 1024
MAX_REDIRECTS: Final = 3
USER_AGENT: Final = "zorio-webphone-playback/1"
REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A 200 with its body, or a 304 (``body`` is ``None``: the cached copy is current)."""

    url: str
    "The URL finally answered (after redirects)."
    status: int
    etag: str | None
    body: bytes | None


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int
    connect_timeout_s: float
    total_timeout_s: float


async def fetch(url: str, limits: FetchLimits, host_allowed: Callable[[str, int], bool],
                etag: str | None = None) -> FetchResult:
    """GET ``url`` (http or https) within ``limits``, following redirects to allowed hosts only."""
    try:
        async with asyncio.timeout(limits.total_timeout_s):
            for _ in range(MAX_REDIRECTS + 1):
                status, headers, reader, writer = await _request(url, limits, etag)
                try:
                    if status in REDIRECTS and "location" in headers:
                        url = urljoin(url, headers["location"])
                        parts = urlsplit(url)
                        if parts.scheme not in ("http", "https") or not parts.hostname or not host_allowed(
                                parts.hostname, parts.port or _default_port(parts.scheme)):
                            raise PlaybackError("host_not_allowed", f"redirect to a host not allowed: {url}")
                        continue
                    if status == 304:
                        return FetchResult(url, 304, headers.get("etag") or etag, None)
                    if status != 200:
                        raise PlaybackError("http_error", f"HTTP {status} for {url}")
                    body = await _read_body(reader, headers, limits.max_bytes)
                    return FetchResult(url, 200, headers.get("etag"), body)
                finally:
                    writer.close()
            raise PlaybackError("fetch_failed", f"more than {MAX_REDIRECTS} redirects")
    except TimeoutError as exc:
        raise PlaybackError("timeout", f"no complete answer within {limits.total_timeout_s:g} s: {url}") from exc
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        raise PlaybackError("fetch_failed", f"{type(exc).__name__}: {exc}") from exc


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def _request(url: str, limits: FetchLimits, etag: str | None
                   ) -> tuple[int, dict[str, str], asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or _default_port(parts.scheme)
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    try:
        async with asyncio.timeout(limits.connect_timeout_s):
            reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=host if tls else None,
                                                           limit=MAX_HEADER_BYTES)
    except TimeoutError as exc:
        raise PlaybackError("timeout", f"could not connect to {host}:{port} within "
                                       f"{limits.connect_timeout_s:g} s") from exc
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if port == _default_port(parts.scheme) else f"{host}:{port}"
    lines = [f"GET {target} HTTP/1.1", f"Host: {host_header}", f"User-Agent: {USER_AGENT}",
             "Accept: audio/*", "Accept-Encoding: identity", "Connection: close"]
    if etag:
        lines.append(f"If-None-Match: {etag}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    try:
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
    except BaseException:
        writer.close()
        raise
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        writer.close()
        raise PlaybackError("fetch_failed", f"not an HTTP/1.x answer: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(rest[:3]), headers, reader, writer


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], max_bytes: int) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader, max_bytes)
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length > max_bytes:
            raise PlaybackError("too_large", f"{length} bytes, the limit is {max_bytes}")
        return await reader.readexactly(length)
    body = await reader.read(max_bytes + 1)
    while len(body) <= max_bytes:
        more = await reader.read(max_bytes + 1 - len(body))
        if not more:
            return body
        body += more
    raise PlaybackError("too_large", f"more than {max_bytes} bytes")


async def _read_chunked(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            return bytes(body)
        if len(body) + size > max_bytes:
            raise PlaybackError("too_large", f"more than {max_bytes} bytes")
        body += await reader.readexactly(size)
        await reader.readexactly(2)
