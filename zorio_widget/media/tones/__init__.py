"""Call-progress tones by country (ITU-T E.180 national plans): US, GB, RU, VN.

What the scenario ``Call`` uses (``play_progress_tone(country)``) and the bridge plays::

    playback = progress_tone("VN")                 # ringback, looping, a media.playback.Playback
    playback = progress_tone("US", "busy")         # dial | ringback | busy | congestion (reorder)
    clip = await load_tone("GB", "congestion")     # the looping clips.Clip itself

- ``plans.py``: the table (frequencies sounding together, cadence on/off seconds).
- ``generate.py``: each tone synthesised and Opus-encoded once per process, in a worker thread,
  as a loop of whole cadence periods ending on a 20 ms boundary.
- An unknown country or kind raises ``ToneError`` (code ``unknown_tone``) at once.
"""

from __future__ import annotations

from ..playback import Playback, PlaybackError
from ..playback.handle import FinishedCallback
from .generate import cached_tone, load_tone, tone_clip_blocking, tone_pcm
from .plans import COUNTRIES, KINDS, PLANS, TonePlan, normalise, plan_for


class ToneError(PlaybackError):
    """An unknown country or tone kind (``unknown_tone``)."""


def progress_tone(country: str, kind: str = "ringback", on_finished: FinishedCallback | None = None) -> Playback:
    """A looping playback of the tone (until ``stop()``); ``ToneError`` if there is no such tone."""
    try:
        code, name = normalise(country, kind)
    except KeyError as exc:
        raise ToneError("unknown_tone", exc.args[0]) from exc
    clip = cached_tone(code, name)
    return Playback(f"tone:{code}:{name}", clip or load_tone(code, name), loop=True, on_finished=on_finished)


__all__ = ["COUNTRIES", "KINDS", "PLANS", "ToneError", "TonePlan", "load_tone", "plan_for", "progress_tone",
           "tone_clip_blocking", "tone_pcm"]
