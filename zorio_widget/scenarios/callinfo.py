"""`CallInfo`: what a scenario can read of one of its calls — who and where.

The base of `Call`: the call it wraps (`session`, a `CallSession`) and the scenario's own leg in
it (`own`): the callee's side of the call that dialled its route (`incoming()`), or the caller's
side of a call it placed. The *party* is the other leg: the browser, phone or agent the scenario
talks to. The state is the scenario's view of the call's (`PROGRESSING`, `ALERTING`, `CONNECTED`,
`TERMINATED`), read off the session, which alone changes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Final, Literal

from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.scenarios.callargs import checked_custom_data
from zorio_widget.scenarios.events import EventSource
from zorio_widget.scenarios.runner import ScenarioError, ScenarioRun

PROGRESSING, ALERTING, CONNECTED, TERMINATED = "PROGRESSING", "ALERTING", "CONNECTED", "TERMINATED"
_STATES: Final = {CallState.ORIGINATING: PROGRESSING, CallState.RINGING: ALERTING, CallState.ANSWERED: CONNECTED}


class CallInfo(EventSource):
    """One party of a scenario's calls, as the scenario reads it (made by the scenario layer)."""

    def __init__(self, run: ScenarioRun, session: CallSession, own: Leg, direction: Literal["incoming", "outgoing"],
                 custom_data: str = "") -> None:
        self.run = run
        self.session = session
        self.own = own
        "The scenario's own leg in `session`."
        self.direction = direction
        self._custom_data = custom_data
        super().__init__()
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
            self._custom_data = checked_custom_data(value)
        return self._custom_data

    async def ended(self) -> str:
        """Waits until the call is over; its end reason."""
        return await asyncio.shield(self._ended)

    def _refuse(self, message: str, code: str = "invalid_state") -> ScenarioError:
        return ScenarioError(code, f"{message} (call {self.id()}, {self.state()})")

    def _unanswered_incoming(self, verb: str) -> None:
        if not self.incoming():
            raise self._refuse(f"{verb}() is for the call that dialled the scenario", "not_incoming")
        if self.state() not in (PROGRESSING, ALERTING) or self.own.call_id not in self.session.ringing:
            raise self._refuse(f"{verb}() needs an unanswered call")
