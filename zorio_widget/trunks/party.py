"""``TrunkParty``: a party on a SIP trunk, as the call layer sees it (an ``Endpoint``).

A trunk leg is this endpoint (the SIP dialog, ``SipCall``) and an ``RtpLeg`` (its media). The
call layer tells every party what happens to its leg with the server messages of the protocol
(``Endpoint.send_frame``); a browser gets them as frames, this endpoint maps them to SIP
(``_FRAMES``): ``call.incoming`` sends our INVITE (we dial out), ``call.ringing`` a 183 with our
ringback (the carrier called us), ``call.answered`` the 200, ``call.held``/``call.resumed`` by the
other party a re-INVITE ``sendonly``/``sendrecv``, ``call.ended`` the CANCEL, the rejection or the
BYE. The frames' ``headers`` (a scenario's ``X-`` headers: ``call_pstn``, answer, reject,
hangup) go on the INVITE, the 200, the final response or the BYE as SIP headers. What the carrier
does comes back the other way (``TrunkParty.wire``): provisional responses, the answer, the end
with its SIP code, hold by the far end, digits by RFC 4733 or INFO — each as session work under
the call's lock, as a browser's requests are. The call's final SIP code is kept on its record
(``sip_code``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from zorio_widget.calls import records
from zorio_widget.calls.controls import put_on_hold, take_off_hold
from zorio_widget.calls.session import Board, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.media.rtp import RtpLeg
from zorio_widget.sip import SipCall

logger = logging.getLogger(__name__)

REJECT_CODES: Final = {"busy": 486, "rejected": 603, "no-answer": 480, "failed": 480, "hangup": 480}
"""Our final response to a carrier's INVITE that no one answered, by end reason."""
CANCELLED_CODE: Final = 487


@dataclass(eq=False)
class TrunkParty:
    """The far end of one trunk call: the caller of an inbound call or the callee we dialled."""

    call: SipCall
    tenant_id: int
    board: Board
    media: RtpLeg
    caller_id: str = ""
    "Outbound: the number we present (the trunk's choice among what the call asked for)."
    caller_name: str = ""
    leg: Leg | None = None
    "The leg this party is (set once the session made it)."
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def extension_id(self) -> int | None:
        return None

    @property
    def number(self) -> str:
        return self.call.remote_number

    @property
    def name(self) -> str:
        return self.call.remote_name

    def __repr__(self) -> str:
        return f"<TrunkParty {self.number} {self.call!r}>"

    # -- the call layer → SIP ------------------------------------------------------------------

    async def send_frame(self, frame: dict[str, Any]) -> None:
        handler = _FRAMES.get(frame["type"])
        if handler is not None:
            try:
                await handler(self, frame)
            except Exception:  # the endpoint must not raise into the session
                logger.exception("[trunk party %s] %s failed", self.number, frame["type"])

    async def _dial(self, frame: dict[str, Any]) -> None:
        self.call.start_outbound(self.call.remote_number, self.caller_id, self.caller_name, frame.get("headers"))

    async def _ringing(self, frame: dict[str, Any]) -> None:
        self.call.ring(early_media=True)  # the carrier hears our ringback (the bridge plays it)

    async def _answered(self, frame: dict[str, Any]) -> None:
        if self.call.direction == "inbound" and self.call.state in ("incoming", "early"):
            await self.call.answer(frame.get("headers"))
            self._store_code(200)

    async def _held(self, frame: dict[str, Any]) -> None:
        if frame.get("by") == "remote":  # the other party holds us: the carrier hears our music
            self._background(self.call.hold)

    async def _resumed(self, frame: dict[str, Any]) -> None:
        if frame.get("by") == "remote":
            self._background(self.call.unhold)

    async def _ended(self, frame: dict[str, Any]) -> None:
        call = self.call
        if call.state == "ended":
            return
        headers = frame.get("headers")
        if call.direction == "inbound" and call.state in ("incoming", "early"):
            code = REJECT_CODES.get(str(frame.get("reason")), 480)
            call.reject(code, headers)
            self._store_code(code)
            return
        unanswered = call.state in ("calling", "early")
        await call.hangup(headers)
        if unanswered:
            self._store_code(CANCELLED_CODE)

    def _background(self, work: Callable[[], Awaitable[object]]) -> None:
        """A re-INVITE waits for its answer: never under the session's lock."""
        async def run() -> None:
            await work()
        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _store_code(self, code: int | None) -> None:
        if code is not None and self.leg is not None:
            self.board.spawn(records.update_record(self.leg.session.uuid, sip_code=code))

    # -- SIP → the call layer ------------------------------------------------------------------

    def wire(self) -> None:
        """The SIP call's events become work of the leg's current session (spawned: the session
        takes its lock; ``leg`` is set by then)."""
        call, spawn = self.call, self.board.spawn
        call.on_progress = lambda _c, code, early: spawn(self._progress(code, early))
        call.on_answered = lambda _c: spawn(self._carrier_answered())
        call.on_ended = lambda _c, reason, code: spawn(self._carrier_ended(reason, code))
        call.on_hold = lambda _c, held: spawn(self._carrier_held(held))
        call.on_dtmf = lambda _c, digit: self.media.deliver_digit(digit)

    async def _progress(self, code: int, early_media: bool) -> None:
        leg = self.leg
        if leg is None:
            return
        session = leg.session
        async with session.lock:
            if leg.call_id not in session.ringing or not session.is_live:
                return
            if session.state == CallState.ORIGINATING:
                await session.ringing_started()
            caller = session.caller
            if early_media and caller is not None:  # the carrier's tones or announcement, not our ringback
                session.bridge.listen(caller.media, leg.media)

    async def _carrier_answered(self) -> None:
        leg = self.leg
        if leg is None or self.call.direction != "outbound":
            return
        session = leg.session
        async with session.lock:
            if leg.call_id in session.ringing and session.state in (CallState.ORIGINATING, CallState.RINGING):
                await session.answered_by(leg)
        self._store_code(self.call.sip_code)

    async def _carrier_ended(self, reason: str, code: int | None) -> None:
        leg = self.leg
        if leg is None:
            return
        session = leg.session
        async with session.lock:
            ringing = leg.call_id in session.ringing and session.is_live
            if ringing:  # our INVITE failed: the call ends with the carrier's reason
                await session.end(reason)
        if not ringing:
            await session.leg_gone(leg)
        self._store_code(code)

    async def _carrier_held(self, held: bool) -> None:
        leg = self.leg
        if leg is None:
            return
        session = leg.session
        async with session.lock:
            if session.state != CallState.ANSWERED or session.peer_of(leg) is None:
                return
            if held and not leg.held:
                await put_on_hold(session, leg)
            elif not held and leg.held:
                await take_off_hold(session, leg)


_FRAMES: dict[str, Callable[[TrunkParty, dict[str, Any]], Awaitable[None]]] = {
    "call.incoming": TrunkParty._dial,
    "call.ringing": TrunkParty._ringing,
    "call.answered": TrunkParty._answered,
    "call.held": TrunkParty._held,
    "call.resumed": TrunkParty._resumed,
    "call.ended": TrunkParty._ended,
}
"""The server messages a trunk party acts on; the others (trying, DTMF reports, mute...) concern
only a browser's display: digits reach the carrier through the bridge, as RFC 4733 events."""
