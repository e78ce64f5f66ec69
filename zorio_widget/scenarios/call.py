"""`Call`: one party of a scenario, and what the scenario can do with it (seed 002's `Call`, DESIGN §6a).

A `Call` wraps one call (`CallSession`) in which the scenario has a leg of its own (`own`): the
callee's side of the call that dialled its route (`incoming()`), or the caller's side of a call it
placed (`call_extension`, `call_pstn`). The *party* is the other leg: the browser, phone or agent
the scenario talks to. Control verbs (answer, reject, ring, hangup, record, digits) are coroutines
that take the call's lock and go through the session, like a device's requests; media verbs
(playback, say, tones, send_media_to) only tell the bridge what the party hears, so they return at
once with a handle, and `PlaybackFinished` (or `await handle.wait()`) says when a sound is over.

What the party hears is kept here as one intention (`_hearing`: a playback, another call's party,
or silence) and re-applied whenever the call layer changes the bridge (the answer connects the
two legs, a called party appears), so a prompt started as early media goes on after the answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any, Final, Literal

from zorio_widget.calls.recording import CallRecording
from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.calls.transfer import blind_transfer
from zorio_widget.media.playback import Playback
from zorio_widget.media.recording import RecordingError
from zorio_widget.media.tones import progress_tone
from zorio_widget.media.vad import PacketVad
from zorio_widget.protocol.messages import MAX_MESSAGE_CHARS, Frame, ProtocolError
from zorio_widget.scenarios.events import CallEvents, EventSource
from zorio_widget.scenarios.runner import ScenarioError, ScenarioRun

logger = logging.getLogger(__name__)

PROGRESSING, ALERTING, CONNECTED, TERMINATED = "PROGRESSING", "ALERTING", "CONNECTED", "TERMINATED"
_STATES: Final = {CallState.ORIGINATING: PROGRESSING, CallState.RINGING: ALERTING, CallState.ANSWERED: CONNECTED}
MAX_CUSTOM_DATA_BYTES: Final = 200
MAX_HEADERS: Final = 16
MAX_HEADER_VALUE_CHARS: Final = 256
HEADER_NAME: Final = re.compile(r"X-[A-Za-z0-9][A-Za-z0-9-]{0,63}", re.IGNORECASE)
DIGITS: Final = re.compile(r"[0-9*#A-Dp]{1,64}", re.IGNORECASE)
DIGIT_PAUSE_S: Final = 0.5
"What one `p` in `send_digits` waits."
REJECT_REASONS: Final = {486: "busy", 600: "busy", 603: "rejected", 480: "no-answer", 408: "no-answer"}
"The caller's end reason for a `reject(code)`; any other 3xx-6xx code: `failed`."
FAILURE_CODES: Final = {"busy": 486, "no-answer": 480, "rejected": 603, "cancelled": 487, "failed": 500}
"The SIP-style `code` of a `Failed` event, by end reason."



def checked_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """`X-` headers as given (names `X-...`, string values), or `ScenarioError` (`bad_value`)."""
    if headers is None:
        return {}
    if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
        raise ScenarioError("bad_value", f"extra headers must be a dict of at most {MAX_HEADERS} X- headers")
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
            raise ScenarioError("bad_value", f"{name!r} is not an X- header name")
        if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE_CHARS or any(c in value for c in "\r\n\0"):
            raise ScenarioError("bad_value", f"header {name} needs a one-line string of at most "
                                             f"{MAX_HEADER_VALUE_CHARS} characters")
    return dict(headers)


def reject_reason(code: int) -> str:
    if not isinstance(code, int) or isinstance(code, bool) or not 300 <= code <= 699:
        raise ScenarioError("bad_value", f"reject() takes a SIP code from 300 to 699, not {code!r}")
    return REJECT_REASONS.get(code, "failed")


class Call(EventSource):
    """One party of a scenario's calls (made by the scenario layer, never by a scenario)."""

    def __init__(self, run: ScenarioRun, session: CallSession, own: Leg, direction: Literal["incoming", "outgoing"],
                 custom_data: str = "") -> None:
        self.run = run
        self.session = session
        self.own = own
        "The scenario's own leg in `session`."
        self.direction = direction
        self._custom_data = custom_data
        super().__init__()
        self._connected = False
        self._early_media = False
        self._handle_tones = False
        self._hearing: Playback | Call | None = None
        self._playbacks: set[Playback] = set()
        self._vad: PacketVad | None = None
        self._vad_tap: Callable[[bytes, int], object] | None = None
        self.end_reason: str | None = None
        "Why the call ended (an end reason), once it has."
        self.failure_detail: str | None = None
        "What a `Failed` event adds as `error` (`no_trunk`: no SIP trunk could take the call)."
        self._ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def listener_failed(self, exc: Exception) -> None:
        self.run.fail(exc)

    def listener_task(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        self.run.spawn(work, name)

    def __repr__(self) -> str:
        return f"<Call {self.direction} {self.number()} {self.state()}>"

    # -- who and where -----------------------------------------------------------------------------

    @property
    def party(self) -> Leg | None:
        """The leg the scenario talks to (None while an outgoing call rings, and once it is over)."""
        if self.terminated:
            return None
        if self.incoming() and self.own.call_id in self.session.ringing:
            return self.session.caller  # not answered yet: early media goes to the caller already
        return self.session.peer_of(self.own)

    @property
    def terminated(self) -> bool:
        return self.end_reason is not None

    def id(self) -> str:
        """The call's id: its record's uuid (`GET /api/webphone/calls`)."""
        return str(self.session.uuid)

    def incoming(self) -> bool:
        return self.direction == "incoming"

    def state(self) -> str:
        """`PROGRESSING`, `ALERTING`, `CONNECTED` or `TERMINATED`."""
        if self.terminated:
            return TERMINATED
        return _STATES.get(self.session.state, TERMINATED)

    def callerid(self) -> str:
        """The calling number: the caller's for an incoming call, the scenario's number for its own."""
        caller = self.session.caller
        return caller.endpoint.number if caller is not None else self.session.origin.number

    def display_name(self) -> str:
        """The other side's name: the caller's (its `callerName`, else its extension's) or the callee's."""
        if self.incoming():
            caller = self.session.caller
            return (caller.caller_name or caller.endpoint.name) if caller is not None else ""
        callee = self.session.callee
        return callee.endpoint.name if callee is not None else self.session.route.name

    def number(self) -> str:
        """The dialled number (the route's, for an incoming call; the called one otherwise)."""
        return self.session.route.number

    def custom_data(self, value: str | None = None) -> str:
        """The call's custom data (from the SDK call's `meta`, or its `callerName`); with `value`, sets
        it (at most 200 bytes of UTF-8, else `ScenarioError` `bad_value`)."""
        if value is not None:
            if not isinstance(value, str) or len(value.encode("utf-8")) > MAX_CUSTOM_DATA_BYTES:
                raise ScenarioError("bad_value", f"custom data is a string of at most {MAX_CUSTOM_DATA_BYTES} bytes")
            self._custom_data = value
        return self._custom_data

    def vad(self) -> bool:
        """Whether the party is talking now (energy-based); the first call starts listening."""
        party = self.party
        if self._vad is None and party is not None:
            self._vad = PacketVad(name=self.own.call_id)
            vad = self._vad
            self._vad_tap = lambda payload, _timestamp: vad.feed(payload)
            self.session.bridge.add_tap(party.media, self._vad_tap)
        return bool(self._vad and self._vad.active)

    # -- events ------------------------------------------------------------------------------------

    async def ended(self) -> str:
        """Waits until the call is over; its end reason."""
        return await asyncio.shield(self._ended)

    def on_frame(self, frame: dict[str, Any]) -> None:
        """A server message about the scenario's leg (sent under the session's lock: no await here)."""
        kind = frame.get("type")
        if kind == "call.ringing":
            self.emit(CallEvents.Ringing)
        elif kind == "call.answered":
            self._connected = True
            self.apply_hearing()
            for other in self.run.calls.values():
                if other._hearing is self:
                    other.apply_hearing()
            self.emit(CallEvents.Connected, headers=dict(frame.get("headers") or {}))
        elif kind == "call.dtmf_received" and self._handle_tones:
            self.emit(CallEvents.ToneReceived, tone=str(frame.get("digit")))
        elif kind == "call.message":
            self.emit(CallEvents.MessageReceived, text=str(frame.get("text")))
        elif kind == "call.ended":
            self._terminate(str(frame.get("reason")))

    def _terminate(self, reason: str) -> None:
        if self.terminated:
            return
        self.end_reason = reason
        for playback in list(self._playbacks):
            playback.stop()
        if self._vad is not None:
            self._vad.close()
        if self._connected or self.incoming():
            self.emit(CallEvents.Disconnected, reason=reason)
        else:
            self.emit(CallEvents.Failed, reason=reason, code=FAILURE_CODES.get(reason, 500), error=self.failure_detail)
        self._ended.set_result(reason)
        self.run.call_ended(self)

    def release(self) -> None:
        """The run is over: drop what the call still holds."""
        self.drop_listeners()
        self._hearing = None
        self._playbacks.clear()
        self._vad = None

    # -- control -----------------------------------------------------------------------------------

    def _refuse(self, message: str, code: str = "invalid_state") -> ScenarioError:
        return ScenarioError(code, f"{message} (call {self.id()}, {self.state()})")

    def _unanswered_incoming(self, verb: str) -> None:
        if not self.incoming():
            raise self._refuse(f"{verb}() is for the call that dialled the scenario", "not_incoming")
        if self.state() not in (PROGRESSING, ALERTING) or self.own.call_id not in self.session.ringing:
            raise self._refuse(f"{verb}() needs an unanswered call")

    async def answer(self, extra_headers: dict[str, str] | None = None) -> None:
        """Answers the incoming call; `extra_headers` (`X-...`) reach the caller's `call.answered`."""
        headers = checked_headers(extra_headers)
        async with self.session.lock:
            self._unanswered_incoming("answer")
            await self.session.answered_by(self.own, headers)

    async def reject(self, code: int = 603, extra_headers: dict[str, str] | None = None) -> None:
        """Refuses the incoming call with a SIP code: 486 -> the caller's `busy`, 603 -> `rejected`,
        480/408 -> `no-answer`, any other -> `failed`."""
        reason, headers = reject_reason(code), checked_headers(extra_headers)
        async with self.session.lock:
            self._unanswered_incoming("reject")
            await self.session.end(reason, headers=headers)

    async def ring(self) -> None:
        """The caller hears ringback (`call.ringing`) until the answer, or `no-answer` at the ring timeout."""
        async with self.session.lock:
            self._unanswered_incoming("ring")
            if self.session.state != CallState.ORIGINATING:
                raise self._refuse("ring() was already called")
            await self.session.ringing_started()

    async def start_early_media(self) -> None:
        """Media before the answer: the caller hears the scenario's playbacks (not ringback) at once."""
        self._unanswered_incoming("start_early_media")
        self._early_media = True
        self.apply_hearing()

    async def hangup(self, extra_headers: dict[str, str] | None = None) -> None:
        """Ends the call: `hangup` once connected; an unanswered incoming call is `rejected`, an
        unanswered outgoing one `cancelled`. `extra_headers` reach the party's `call.ended`."""
        headers = checked_headers(extra_headers)
        async with self.session.lock:
            if self.terminated or not self.session.is_live:
                return
            if self.session.state == CallState.ANSWERED:
                reason = "hangup"
            else:
                reason = "rejected" if self.incoming() else "cancelled"
            await self.session.end(reason, headers=headers)

    async def end_now(self, reason: str) -> None:
        """Ends the call with `reason` whatever its state (the run failed)."""
        async with self.session.lock:
            if self.session.is_live and self.own in self.session.legs:
                await self.session.end(reason)
        self._terminate(reason)

    async def transfer(self, number: str) -> None:
        """Hands the party to `number` (an extension, a route): its leg moves to a new call that rings
        there (a blind transfer) and this call ends `transferred`. `ScenarioError` if refused."""
        frame = Frame("call.transfer", {"call_id": self.own.call_id, "target": number})
        try:
            await self.session.run(blind_transfer, self.own, frame)
        except ProtocolError as exc:
            raise ScenarioError(exc.code, exc.message) from exc

    async def record(self) -> str:
        """Records both sides (the party left, the scenario's right); `RecordStarted` with the URL
        the file will be served at (`GET /api/webphone/calls/<uuid>/recording`), also returned."""
        async with self.session.lock:
            if self.state() != CONNECTED:
                raise self._refuse("record() needs a connected call")
            try:
                recording = await CallRecording.start(self.session)
            except RecordingError as exc:
                raise self._refuse(str(exc)) from exc
        self.emit(CallEvents.RecordStarted, url=recording.url)
        return recording.url

    async def send_digits(self, digits: str) -> None:
        """Sends DTMF to the party (0-9 * # A-D; `p` waits half a second): RFC 4733 events when its
        side negotiated them, else in-band tones. Returns once they have been sent."""
        if not isinstance(digits, str) or not DIGITS.fullmatch(digits):
            raise ScenarioError("bad_value", f"digits must be 1 to 64 of 0-9 * # A-D p, not {digits!r}")
        for chunk in re.split(r"(p+)", digits, flags=re.IGNORECASE):
            if not chunk:
                continue
            if chunk[0] in "pP":
                await asyncio.sleep(DIGIT_PAUSE_S * len(chunk))
                continue
            party = self._connected_party("send_digits")
            await asyncio.sleep(await self.session.bridge.send_dtmf(party.media, chunk))

    def handle_tones(self, enabled: bool = True, inband: bool = True) -> None:
        """`ToneReceived` for each digit of the party: RFC 4733 events, and in-band tones detected in
        its audio (unless `inband=False`: detecting them decodes the party's audio)."""
        self._handle_tones = bool(enabled)
        party = self.party
        if party is not None:
            party.media.set_inband_dtmf_detection((self._handle_tones and inband) or party.inband_dtmf)

    async def send_message(self, text: str) -> None:
        """A text to the party (`call.message` to a browser)."""
        if not isinstance(text, str) or not text or len(text) > MAX_MESSAGE_CHARS:
            raise ScenarioError("bad_value", f"a message is 1 to {MAX_MESSAGE_CHARS} characters")
        await self._connected_party("send_message").send("call.message", text=text)

    def _connected_party(self, verb: str) -> Leg:
        party = self.party
        if party is None or self.state() != CONNECTED:
            raise self._refuse(f"{verb}() needs a connected call")
        return party

    # -- what the party hears ------------------------------------------------------------------------

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

    def send_media_to(self, other: Call) -> None:
        """`other`'s party hears this call's party (it hears one stream: this replaces what it heard);
        this call's party may be heard by any number of calls."""
        if not isinstance(other, Call) or other is self:
            raise ScenarioError("bad_value", "send_media_to() takes another Call")
        other._hear(self)

    def stop_media_to(self, other: Call) -> None:
        if isinstance(other, Call) and other._hearing is self:
            other._hear(None)

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

    def _hear(self, what: Playback | Call | None) -> None:
        previous, self._hearing = self._hearing, what
        if isinstance(previous, Playback) and previous is not what:
            previous.stop()
        self.apply_hearing()

    def apply_hearing(self) -> None:
        """Tells the bridge what the party hears now (after any change of the call layer's)."""
        party = self.party
        if party is None or (self.state() != CONNECTED and not self._early_media):
            return
        bridge, what = self.session.bridge, self._hearing
        if isinstance(what, Playback):
            bridge.play(party.media, what, speaker=self.own.media)
        elif isinstance(what, Call) and what.party is not None:
            bridge.listen(party.media, what.party.media)
        else:
            bridge.play(party.media, "silence")
