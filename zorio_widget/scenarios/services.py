"""What every scenario of the process shares: the speech engine's `Speaker` and the `Player` (their
caches are per process), built from the settings on first use; tests give their own (`use_services`)."""

from __future__ import annotations

from dataclasses import dataclass

from zorio_widget.media.playback import Player
from zorio_widget.media.speech import Speaker


@dataclass(frozen=True)
class Services:
    speaker: Speaker
    "say(): TTS_ENGINE, TTS_CACHE_DIR."
    player: Player
    "start_playback(): PLAYBACK_ROOT, PLAYBACK_ALLOWED_HOSTS."


_services: Services | None = None


def get_services() -> Services:
    global _services
    if _services is None:
        _services = Services(Speaker.from_settings(), Player.from_settings())
    return _services


def use_services(services: Services | None) -> None:
    """Makes `services` the process's (None: built from the settings again on next use)."""
    global _services
    _services = services
