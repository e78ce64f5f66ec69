"""The bridge's rule table: the one record per leg of who hears what, and the one rule that turns
it into what the leg hears.

``LegMedia`` holds a leg's pairing (peer), mode (connected, listening, echo, a clip, a playback),
mute and hold; ``source_for`` is the only place a leg's outbound ``Source`` is decided, so that
every command (connect, hold, mute, replace...) changes the record and lets this rule speak.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..timeline import SILENCE, Source
from .bridged import BridgedMedia
from .taps import Tap, Taps

PLAYABLE = ("ringback", "music", "silence")
"The clips a leg can loop by name (``Bridge.play``)."
HOLD_CLIP = "music"
"What whoever hears a holder hears."


@dataclass(slots=True)
class LegMedia:
    """What the bridge knows about one leg."""

    leg: BridgedMedia
    peer: BridgedMedia | None = None
    "The leg this one is connected to (a pair)."
    mode: str = "silence"
    "``connected``, ``listening``, ``echo``, ``playback``, or a clip name."
    origin: BridgedMedia | None = None
    "``listening``: the leg it hears."
    pull_source: Source | None = None
    "``playback``: the source its track pulls from (``pull`` below)."
    pull: Callable[[], bytes | None] | None = None
    muted: bool = False
    holding: bool = False
    "This leg has put whoever it talks to on hold."
    taps: tuple[Tap, ...] = ()
    tap: Taps | None = None
    "``taps`` as one callable (also the leg's ``packet_tap``, browser or trunk), None without taps."
    heard: str | None = None
    "The leg id whose packets this one's applied source relays (its entry in ``Relay.listeners``)."
    history: list[str] = field(default_factory=list)
    "Applied sources, oldest first (kept short; useful in tests and logs)."


def set_mode(state: LegMedia, mode: str) -> LegMedia:
    """``state`` takes ``mode``, forgetting what the previous mode heard (origin, playback)."""
    state.mode = mode
    state.origin = None
    state.pull_source = state.pull = None
    return state


def heard_from(other: BridgedMedia, legs: Mapping[str, LegMedia]) -> Source:
    """What a leg hearing ``other`` hears: silence when muted, music when it holds, else its audio."""
    other_state = legs.get(other.id)
    if other_state is None or other_state.muted:
        return SILENCE
    if other_state.holding:
        return Source("clip", clip=HOLD_CLIP)
    return Source("forward", origin=other.id)


def source_for(state: LegMedia, legs: Mapping[str, LegMedia]) -> Source:
    """The one rule deciding what a leg hears."""
    if state.holding:
        return SILENCE
    if state.mode == "echo":
        return SILENCE if state.muted else Source("forward", origin=state.leg.id)
    if state.mode == "connected" and state.peer is not None:
        return heard_from(state.peer, legs)
    if state.mode == "listening" and state.origin is not None:
        return heard_from(state.origin, legs)
    if state.mode == "playback" and state.pull_source is not None:
        return state.pull_source
    if state.mode in PLAYABLE:
        return Source("clip", clip=state.mode)
    return SILENCE
