"""`ScenarioRun`: one run of a scenario, supervised: its tasks, its calls, its end.

Everything a scenario does runs as a task of its run (`spawn`): the scenario function itself, its
coroutine event listeners, the work its calls start. A task that raises ends the run: the
traceback is logged once, every live call of the run ends `failed`, the other tasks are cancelled,
and nothing reaches the event loop's default handler or the process. A run lasts as long as the call
that started it: once that call is over, its tasks get `END_GRACE_S` to finish (a listener of
`Disconnected` may still save something), then they are cancelled and the calls the scenario
placed are hung up; its playbacks, voice detectors and media go with its calls. The
run is reachable from its tasks as `current_run()` (a context variable), which is how the
module-level `call_extension`/`call_pstn` know whose calls they place.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Final

from zorio_widget.calls.limits import CallLimits
from zorio_widget.calls.routing import Route
from zorio_widget.calls.session import Board
from zorio_widget.scenarios.leg import ScenarioEndpoint
from zorio_widget.scenarios.services import Services

if TYPE_CHECKING:
    from zorio_widget.scenarios.call import Call

logger = logging.getLogger(__name__)

END_GRACE_S: Final = 5.0
"Seconds a run's tasks may go on once its last call is over."

_current: contextvars.ContextVar[ScenarioRun] = contextvars.ContextVar("zorio_scenario_run")


class ScenarioError(Exception):
    """A scenario asked for something its call cannot do now (`code`: `invalid_state`,
    `not_incoming`, `bad_value`, `not_found`...); nothing changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def current_run() -> ScenarioRun:
    """The run whose task this is; `ScenarioError` outside a scenario."""
    run = _current.get(None)
    if run is None:
        raise ScenarioError("invalid_state", "not inside a scenario (use it from a scenario's tasks)")
    return run


class ScenarioRun:
    """One scenario answering one call (and the calls it places)."""

    def __init__(self, board: Board, route: Route, tenant_id: int, limits: CallLimits, services: Services,
                 end_grace_s: float = END_GRACE_S) -> None:
        self.board = board
        self.route = route
        self.tenant_id = tenant_id
        self.limits = limits
        self.services = services
        self.end_grace_s = end_grace_s
        self.name = route.scenario
        self.endpoint = ScenarioEndpoint(tenant_id, route.number, route.name or route.number, self)
        self.calls: dict[str, Call] = {}
        "By the call_id of the scenario's own leg in each call."
        self.failed: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ending: asyncio.TimerHandle | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        "Resolved once every call is over and every task has ended."

    def __repr__(self) -> str:
        return f"<ScenarioRun {self.name} on {self.route.number}>"

    # -- calls -----------------------------------------------------------------------------------

    def add_call(self, call: Call) -> None:
        self.calls[call.own.call_id] = call

    def on_frame(self, frame: dict[str, Any]) -> None:
        """A server message about one of the run's legs (`ScenarioEndpoint.send_frame`)."""
        call = self.calls.get(str(frame.get("call_id")))
        if call is not None:
            call.on_frame(frame)

    def call_ended(self, call: Call) -> None:
        """`call` is over; once the incoming one is (or every one), the run winds down."""
        over = call.incoming() or all(c.terminated for c in self.calls.values())
        if over and self._ending is None:
            self._ending = asyncio.get_running_loop().call_later(self.end_grace_s, self._wind_down)
        self._maybe_done()

    # -- tasks -------------------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Runs `work` as a supervised task of this run (it sees `current_run()`)."""
        context = contextvars.copy_context()
        context.run(_current.set, self)
        task = asyncio.get_running_loop().create_task(work, name=f"scenario {self.name}: {name}", context=context)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.fail(task.exception())  # type: ignore[arg-type]
        self._maybe_done()

    def fail(self, exc: BaseException) -> None:
        """The scenario's code raised: logged once, its calls end `failed`, its tasks stop."""
        if self.failed is not None:
            return
        self.failed = exc
        calls = ", ".join(str(c.session.uuid) for c in self.calls.values()) or "none"
        logger.error("scenario %s (route %s) raised; its calls (%s) end failed", self.name, self.route.number, calls,
                     exc_info=(type(exc), exc, exc.__traceback__))
        self.board.spawn(self._end_calls("failed"))

    async def _end_calls(self, reason: str) -> None:
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        for call in list(self.calls.values()):
            await call.end_now(reason)
        self._maybe_done()

    def _wind_down(self) -> None:
        """The grace is over: whatever still runs is cancelled, the calls still live are hung up."""
        for task in list(self._tasks):
            task.cancel()
        if any(not c.terminated for c in self.calls.values()):
            self.board.spawn(self._end_calls("hangup"))
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self.done.done() or self._tasks:
            return
        if all(c.terminated for c in self.calls.values()):
            if self._ending is not None:
                self._ending.cancel()
            for call in self.calls.values():
                call.release()
            self.done.set_result(None)
            logger.info("scenario %s (route %s): run over", self.name, self.route.number)
