"""`CallMedia`: what the party of a scenario's call hears, and what the scenario hears of it.

Media verbs (playback, say, tones, send_media_to) only tell the bridge what the party hears, so
they return at once with a handle, and `PlaybackFinished` (or `await handle.wait()`) says when a
sound is over. What the party hears is kept as one intention (`_hearing`: a playback, another
call's party, or silence) and re-applied whenever the call layer changes the bridge (the answer
connects the two legs, a called party appears: `apply_hearing`), so a prompt started as early
media goes on after the answer. `vad()` taps the party's audio.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.media.playback import Playback
from zorio_widget.media.tones import progress_tone
from zorio_widget.media.vad import PacketVad
from zorio_widget.scenarios.callinfo import CONNECTED, CallInfo
from zorio_widget.scenarios.events import CallEvents
from zorio_widget.scenarios.runner import ScenarioError, ScenarioRun


class CallMedia(CallInfo):
    """The media verbs of a scenario's call (made by the scenario layer, as a `Call`)."""

    def __init__(self, run: ScenarioRun, session: CallSession, own: Leg, direction: Literal["incoming", "outgoing"],
                 custom_data: str = "") -> None:
        super().__init__(run, session, own, direction, custom_data)
        self._early_media = False
        self._hearing: Playback | CallMedia | None = None
        self._playbacks: set[Playback] = set()
        self._vad: PacketVad | None = None
        self._vad_tap: Callable[[bytes, int], object] | None = None

    def vad(self) -> bool:
        """Whether the party is talking now (energy-based); the first call starts listening."""
        party = self.party
        if self._vad is None and party is not None:
            self._vad = PacketVad(name=self.own.call_id)
            vad = self._vad
            self._vad_tap = lambda payload, _timestamp: vad.feed(payload)
            self.session.bridge.add_tap(party.media, self._vad_tap)
        return bool(self._vad and self._vad.active)

    async def start_early_media(self) -> None:
        """Media before the answer: the caller hears the scenario's playbacks (not ringback) at once."""
        self._unanswered_incoming("start_early_media")
        self._early_media = True
        self.apply_hearing()

    def start_playback(self, url: str, loop: bool = False) -> Playback:
        """Plays a static path or an http(s) URL of an allowed host (mp3, ogg, flac, wav, ≤ 10 MB,
        cached) to the party; `PlaybackFinished` at its end, on `stop_playback`, or on an error."""
        return self._play(self.run.services.player.start_playback(url, loop=loop))

    def say(self, text: str, language: str = "en") -> Playback:
        """Speaks `text` (≤ 1500 characters) in `language` to the party; `PlaybackFinished` at its
        end, or with an `error` (`text_too_long`, `unknown_language`...)."""
        return self._play(self.run.services.speaker.say(text, language))

    def play_progress_tone(self, country: str, kind: str = "ringback") -> Playback:
        """The country's ringback (or `busy`, `congestion`, `dial`) from the ITU-T E.180 plans,
        looping until `stop_playback`; `ToneError` at once for a country or kind it has no plan of."""
        return self._play(progress_tone(country, kind))

    def play(self, playback: Playback) -> Playback:
        """Plays any `media.playback.Playback` (a clip of the scenario's own) like `start_playback`."""
        return self._play(playback)

    def stop_playback(self) -> None:
        """Stops what plays (its `PlaybackFinished` says `stopped`); the party hears silence."""
        if isinstance(self._hearing, Playback):
            self._hearing.stop()
            self._hear(None)

    def send_media_to(self, other: CallMedia) -> None:
        """`other`'s party hears this call's party (it hears one stream: this replaces what it heard);
        this call's party may be heard by any number of calls."""
        if not isinstance(other, CallMedia) or other is self:
            raise ScenarioError("bad_value", "send_media_to() takes another Call")
        other._hear(self)

    def stop_media_to(self, other: CallMedia) -> None:
        if isinstance(other, CallMedia) and other._hearing is self:
            other._hear(None)

    def apply_hearing(self) -> None:
        """Tells the bridge what the party hears now (after any change of the call layer's)."""
        party = self.party
        if party is None or (self.state() != CONNECTED and not self._early_media):
            return
        bridge, what = self.session.bridge, self._hearing
        if isinstance(what, Playback):
            bridge.play(party.media, what, speaker=self.own.media)
        elif isinstance(what, CallMedia) and what.party is not None:
            bridge.listen(party.media, what.party.media)
        else:
            bridge.play(party.media, "silence")

    def _play(self, playback: Playback) -> Playback:
        if self.terminated or (self.state() != CONNECTED and not self._early_media):
            playback.stop()
            raise self._refuse("media needs a connected call or start_early_media()")
        self._playbacks.add(playback)
        playback.add_finished_callback(lambda result: self._playback_finished(playback, result))
        self._hear(playback)
        return playback

    def _playback_finished(self, playback: Playback, result: Any) -> None:
        self._playbacks.discard(playback)
        if self._hearing is playback:
            self._hearing = None
        error = result.error.code if result.error is not None else None
        self.emit(CallEvents.PlaybackFinished, name=result.name, error=error, stopped=result.stopped,
                  played_s=result.played_s)

    def _hear(self, what: Playback | CallMedia | None) -> None:
        previous, self._hearing = self._hearing, what
        if isinstance(previous, Playback) and previous is not what:
            previous.stop()
        self.apply_hearing()
