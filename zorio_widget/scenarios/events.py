"""What a scenario's calls tell it: `CallEvents` and the event each listener receives.

Seed 002's names (VoxEngine's `CallEvents`): Connected, Disconnected, Failed, Ringing,
ToneReceived, PlaybackFinished, RecordStarted, MessageReceived. A listener gets one `CallEvent`
(its `name`, the `call`, and the fields of that kind); it may be a plain function or a coroutine
function (then it runs as a task of the scenario, supervised like the scenario itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from zorio_widget.scenarios.call import Call


class CallEvents(StrEnum):
    Connected = "Connected"
    "The call is answered (by the scenario, or by the party a scenario called)."
    Disconnected = "Disconnected"
    "A call that was connected (or an incoming one) is over: `reason` says why."
    Failed = "Failed"
    "An outgoing call ended before it was answered: `reason` (busy, no-answer, failed...) and `code`."
    Ringing = "Ringing"
    "The party a scenario called is alerting."
    ToneReceived = "ToneReceived"
    "A DTMF digit from the party (`tone`), RFC 4733 or in-band, after `handle_tones(True)`."
    PlaybackFinished = "PlaybackFinished"
    "A playback or `say()` ended: `name`, `error` (a code, or None), `stopped`, `played_s`."
    RecordStarted = "RecordStarted"
    "`record()` started: `url` is where the file will be served once the call is over."
    MessageReceived = "MessageReceived"
    "A text from the party (`call.message`): `text`."


@dataclass(frozen=True)
class CallEvent:
    """One event of one call; `data` holds the fields of its kind (also readable as attributes)."""

    name: CallEvents
    call: Call
    data: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, item: str) -> Any:
        try:
            return self.data[item]
        except KeyError:
            raise AttributeError(f"{self.name} has no field {item!r}") from None


ONCE_EVENTS: Final = (CallEvents.Ringing, CallEvents.Connected, CallEvents.Disconnected, CallEvents.Failed)
"What happens at most once to a call: `wait_for` returns it at once if it already happened."

Listener = Callable[[CallEvent], Any]


class EventSource:
    """Listeners and waiters of a call's events. Listeners run on the next loop turn (never inside
    the call layer's lock, where events are raised), a coroutine one as a task of the scenario
    (`listener_task`); one that raises is the scenario's failure (`listener_failed`)."""

    def __init__(self) -> None:
        self._listeners: dict[CallEvents, list[Listener]] = {}
        self._waiters: list[tuple[CallEvents, asyncio.Future[CallEvent]]] = []
        self._happened: dict[CallEvents, CallEvent] = {}

    def listener_failed(self, exc: Exception) -> None:
        raise NotImplementedError

    def listener_task(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        raise NotImplementedError

    def drop_listeners(self) -> None:
        self._listeners.clear()

    def add_event_listener(self, event: CallEvents | str, listener: Listener) -> None:
        """`listener(event)` for each event of that kind; a coroutine function runs as a scenario task.
        A non-callable or an unknown event is refused here (`TypeError`, `ValueError`)."""
        if not callable(listener):
            raise TypeError(f"an event listener must be callable, not {type(listener).__name__}")
        self._listeners.setdefault(CallEvents(event), []).append(listener)

    def remove_event_listener(self, event: CallEvents | str, listener: Listener | None = None) -> None:
        """Removes `listener` (every listener of `event` when None)."""
        kind = CallEvents(event)
        if listener is None:
            self._listeners.pop(kind, None)
        elif listener in self._listeners.get(kind, []):
            self._listeners[kind].remove(listener)

    async def wait_for(self, event: CallEvents | str, timeout_s: float | None = None) -> CallEvent:
        """The next event of that kind (`TimeoutError` after `timeout_s`); one that happens once
        (Ringing, Connected, Disconnected, Failed) is returned at once if it already has."""
        kind = CallEvents(event)
        if kind in self._happened:
            return self._happened[kind]
        future: asyncio.Future[CallEvent] = asyncio.get_running_loop().create_future()
        entry = (kind, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout_s)
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def emit(self, name: CallEvents, /, **data: Any) -> None:
        """Delivers an event: waiters at once, listeners on the next loop turn (never inside the
        call layer's lock) or as scenario tasks."""
        event = CallEvent(name, self, data)  # type: ignore[arg-type]  # the subclass is a Call
        if name in ONCE_EVENTS:
            self._happened[name] = event
        for entry in list(self._waiters):
            if entry[0] == name and not entry[1].done():
                entry[1].set_result(event)
        for listener in list(self._listeners.get(name, ())):
            asyncio.get_running_loop().call_soon(self._deliver, listener, event)

    def _deliver(self, listener: Listener, event: CallEvent) -> None:
        try:
            result = listener(event)
        except Exception as exc:
            self.listener_failed(exc)
            return
        if asyncio.iscoroutine(result):
            self.listener_task(result, f"{event.name} listener")

