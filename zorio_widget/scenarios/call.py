"""`Call`: one party of a scenario, and what the scenario can do with it (seed 002's `Call`, DESIGN §6a).

A `Call` wraps one call (`CallSession`) in which the scenario has a leg of its own; what it can
read of it (who and where, its state) is `callinfo.CallInfo`, what the party hears (playback, say,
tones, send_media_to, early media, vad) is `hearing.CallMedia`, and the checks of a scenario's
arguments are `callargs`. Here: the events the call layer's messages become, and the control verbs
(answer, reject, ring, hangup, transfer, record, digits, messages), coroutines that take the
call's lock and go through the session, like a device's requests.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Final, Literal

from zorio_widget.calls.recording import CallRecording
from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.calls.transfer import blind_transfer
from zorio_widget.media.recording import RecordingError
from zorio_widget.protocol.messages import MAX_MESSAGE_CHARS, Frame, ProtocolError
from zorio_widget.scenarios.callargs import FAILURE_CODES, checked_digits, checked_headers, reject_reason
from zorio_widget.scenarios.callinfo import ALERTING, CONNECTED, PROGRESSING, TERMINATED
from zorio_widget.scenarios.events import CallEvents
from zorio_widget.scenarios.hearing import CallMedia
from zorio_widget.scenarios.runner import ScenarioError, ScenarioRun

__all__ = ["ALERTING", "CONNECTED", "PROGRESSING", "TERMINATED", "Call"]
"The call and its states, as scenarios import them."

logger = logging.getLogger(__name__)

DIGIT_PAUSE_S: Final = 0.5
"What one `p` in `send_digits` waits."


class Call(CallMedia):
    """One party of a scenario's calls (made by the scenario layer, never by a scenario)."""

    def __init__(self, run: ScenarioRun, session: CallSession, own: Leg, direction: Literal["incoming", "outgoing"],
                 custom_data: str = "") -> None:
        super().__init__(run, session, own, direction, custom_data)
        self._connected = False
        self._handle_tones = False

    # -- events ------------------------------------------------------------------------------------

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
        for chunk in re.split(r"(p+)", checked_digits(digits), flags=re.IGNORECASE):
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
