"""Playback of files and URLs, and the ``Playback`` handle every prompt plays through.

What the scenario ``Call`` and the bridge use::

    player = Player.from_settings()            # or Player(PlaybackConfig(root=..., allowed_hosts=...))
    playback = player.start_playback("sounds/welcome.mp3", loop=False, on_finished=callback)
    playback.next_payload()                    # bridge: once per 20 ms frame -> Opus payload | None
    playback.stop()                            # scenario's stop_playback()
    result = await playback.wait()             # PlaybackResult(name, error, stopped, played_s)
    await play_into(playback, sink)            # pace it into a sink without a clock of its own

- Locations (``sources.py``): a static path under ``PLAYBACK_ROOT`` (default the project's
  ``static/``; traversal refused) or an http(s) URL on a host of ``PLAYBACK_ALLOWED_HOSTS``
  (default empty: every URL refused). Files and downloads up to 10 MiB; mp3, ogg, flac, wav.
- Loading runs off the loop (threads, asyncio streams); clips are cached by path+mtime or by
  URL+ETag (conditional GET). ``on_finished`` fires once: at the end, on ``stop()``, or on an
  error (``result.error.code``: ``not_found``, ``forbidden_path``, ``host_not_allowed``,
  ``unsupported_url``, ``too_large``, ``too_long``, ``unsupported_format``, ``decode_failed``,
  ``http_error``, ``timeout``, ``fetch_failed``).
- ``pcm.py``: PCM <-> 20 ms Opus packets, shared by speech and tones.
"""

from .handle import Playback, PlaybackError, PlaybackResult, play_into
from .player import Player
from .sources import PlaybackConfig

__all__ = ["Playback", "PlaybackConfig", "PlaybackError", "PlaybackResult", "Player", "play_into"]
