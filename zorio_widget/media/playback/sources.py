"""What a scenario may ask to play: a file under the playback folder, or an http(s) URL on a host
the admin listed. Nothing else is opened or fetched.

- A static path (``sounds/welcome.mp3``, ``/static/sounds/welcome.mp3``) names a file under
  ``PlaybackConfig.root`` (the project's ``static/`` unless ``PLAYBACK_ROOT`` says otherwise);
  ``..``, backslashes, NUL bytes and anything that resolves outside the folder (symbolic links
  included) are refused with ``forbidden_path``.
- An ``http://`` or ``https://`` URL is fetched only when its host is in ``PLAYBACK_ALLOWED_HOSTS``
  (``host`` for any port, ``host:port`` for one); the default, an empty list, refuses every URL
  (``host_not_allowed``). Credentials in URLs are refused. Any other scheme: ``unsupported_url``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from .fetch import FetchLimits
from .handle import PlaybackError

MAX_BYTES: Final = 10 * 1024 * 1024
"A file or download larger than 10 MiB is refused (``too_large``)."
MAX_DURATION_S: Final = 900.0
"Decoded audio longer than 15 minutes is refused (``too_long``): it would sit in memory as packets."
CONNECT_TIMEOUT_S: Final = 5.0
TOTAL_TIMEOUT_S: Final = 20.0
STATIC_PREFIX: Final = "/static/"
MAX_URL_CHARS: Final = 2048


@dataclass(frozen=True, slots=True)
class PlaybackConfig:
    """Where playback may read from (injected; ``from_settings`` reads Django's settings)."""

    root: Path
    "Folder of the static paths."
    allowed_hosts: frozenset[str] = frozenset()
    "Lower-case ``host`` or ``host:port`` entries; empty: no URL is fetched."
    max_bytes: int = MAX_BYTES
    max_duration_s: float = MAX_DURATION_S
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    total_timeout_s: float = TOTAL_TIMEOUT_S

    @classmethod
    def from_settings(cls) -> PlaybackConfig:
        from django.conf import settings

        return cls(root=Path(settings.PLAYBACK_ROOT),
                   allowed_hosts=frozenset(h.strip().lower() for h in settings.PLAYBACK_ALLOWED_HOSTS if h.strip()))

    @property
    def limits(self) -> FetchLimits:
        return FetchLimits(self.max_bytes, self.connect_timeout_s, self.total_timeout_s)

    def host_allowed(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".")
        return host in self.allowed_hosts or f"{host}:{port}" in self.allowed_hosts


@dataclass(frozen=True, slots=True)
class LocalFile:
    relative: str
    "The checked path inside the playback folder; ``local_path`` finds the file (blocking)."


@dataclass(frozen=True, slots=True)
class RemoteUrl:
    url: str


def resolve(config: PlaybackConfig, location: str) -> LocalFile | RemoteUrl:
    """Check ``location`` against the rules above; ``PlaybackError`` if refused."""
    if not isinstance(location, str) or not location.strip():
        raise PlaybackError("unsupported_url", "empty playback location")
    if len(location) > MAX_URL_CHARS:
        raise PlaybackError("unsupported_url", f"longer than {MAX_URL_CHARS} characters")
    parts = urlsplit(location)
    if parts.scheme in ("http", "https"):
        if parts.username is not None or parts.password is not None:
            raise PlaybackError("unsupported_url", "credentials in playback URLs are not accepted")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise PlaybackError("unsupported_url", str(exc)) from exc
        if not parts.hostname or not config.host_allowed(parts.hostname, port):
            raise PlaybackError("host_not_allowed", f"{parts.hostname!r} is not in PLAYBACK_ALLOWED_HOSTS")
        return RemoteUrl(location)
    if parts.scheme or parts.netloc:
        raise PlaybackError("unsupported_url", f"only http(s) URLs and static paths can be played, not {location!r}")
    return LocalFile(_static_relative(location))


def _static_relative(location: str) -> str:
    path = unquote(location.split("?", 1)[0].split("#", 1)[0])
    if path.startswith(STATIC_PREFIX):
        path = path[len(STATIC_PREFIX):]
    path = path.lstrip("/")
    segments = path.split("/")
    if "\\" in path or "\0" in path or any(s in ("..", ".") for s in segments) or not path:
        raise PlaybackError("forbidden_path", f"{location!r} is not a path inside the playback folder")
    return path


def local_path(config: PlaybackConfig, file: LocalFile) -> Path:
    """The file ``file`` names, symbolic links resolved and checked to stay inside the folder.
    Touches the file system: call it from a worker thread."""
    root = Path(os.path.realpath(config.root))
    candidate = Path(os.path.realpath(root / file.relative))
    if not candidate.is_relative_to(root):
        raise PlaybackError("forbidden_path", f"{file.relative!r} resolves outside the playback folder")
    if not candidate.is_file():
        raise PlaybackError("not_found", f"no file {file.relative!r} in the playback folder")
    return candidate
