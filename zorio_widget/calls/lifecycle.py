"""A call's lifecycle: its state, changed only through the table (`states.py`), and what waits on it.

`CallSession` is a `CallLifecycle`. This part knows nothing of legs, parties or the process: only
the call's id, its state and lock, the ring timer, the answer and the close of its record, and the
work waiting for the answer (a recording asked for at placing) or the end (a transfer's clean-up).
Kept apart so the one place a call's state changes (`_apply`, logged old -> new) reads at once.
"""

import asyncio
import logging
import uuid as uuid_lib
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

from django.utils import timezone

from zorio_widget.calls import records
from zorio_widget.calls.states import CallEvent, CallState, is_live, next_state

logger = logging.getLogger(__name__)

EndedWork = Callable[[], Coroutine[Any, Any, None]]
"""Work that runs (as a task) once the call has ended."""


class CallLifecycle:
    """A call's state and the work waiting on it; every change is made under `lock` by the session."""

    def __init__(self, tenant_id: int) -> None:
        self.uuid = uuid_lib.uuid4()
        self.tenant_id = tenant_id
        self.state = CallState.ORIGINATING
        #: When the call was placed (its record's `started_at`) and answered.
        self.started_at = timezone.now()
        self.answered_at: datetime | None = None
        self.lock = asyncio.Lock()
        self._ring_timer: asyncio.Task[None] | None = None
        self._when_ended: list[EndedWork] = []
        self._when_answered: list[Callable[[], Awaitable[None]]] = []

    def __repr__(self) -> str:
        return f"<CallSession {self.uuid} {self.state}>"

    @property
    def is_live(self) -> bool:
        return is_live(self.state)

    def when_answered(self, work: Callable[[], Awaitable[None]]) -> None:
        """Awaits `work()` under the call's lock once the call is answered (a recording asked for
        at placing starts then, with both parties)."""
        self._when_answered.append(work)

    def when_ended(self, work: EndedWork) -> None:
        """Runs `work()` (as a task of the board) once this call has ended."""
        self._when_ended.append(work)

    async def mark_answered(self) -> None:
        """The call is answered: the record says when, and the work waiting for it runs."""
        self._apply(CallEvent.ANSWER)
        self.answered_at = timezone.now()
        await records.answer_record(self.uuid, self.tenant_id, self.started_at, self.answered_at)
        when_answered, self._when_answered = self._when_answered, []
        for work in when_answered:
            await work()

    def _apply(self, event: CallEvent) -> None:
        new_state = next_state(self.state, event)
        logger.info("call %s: %s -> %s (%s)", self.uuid, self.state, new_state, event)
        self.state = new_state

    def _start_ring_timer(self, timeout_s: float, on_timeout: Callable[[], Awaitable[None]]) -> None:
        """`on_timeout()` under the lock after `timeout_s`, if the call is still ringing then."""

        async def ring_timeout() -> None:
            await asyncio.sleep(timeout_s)
            async with self.lock:
                if self.state == CallState.RINGING:
                    await on_timeout()

        self._ring_timer = asyncio.create_task(ring_timeout(), name=f"ring-timeout-{self.uuid}")

    def _cancel_ring_timer(self) -> None:
        timer, self._ring_timer = self._ring_timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _close(self, reason: str, spawn: Callable[[Coroutine[Any, Any, None]], None],
                     **record_fields: Any) -> None:
        """After the legs are gone: the work waiting for the end starts (`spawn`), the record is
        closed with `reason` and `record_fields`, and the call leaves wrap-up."""
        when_ended, self._when_ended = self._when_ended, []
        for work in when_ended:
            spawn(work())
        try:
            await records.finish_record(self.uuid, self.tenant_id, reason, self.answered_at, **record_fields)
        finally:
            if self.state == CallState.WRAP_UP:
                self._apply(CallEvent.CLOSE)
