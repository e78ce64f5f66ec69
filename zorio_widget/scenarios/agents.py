"""Queue agents and the callers waiting for them, in this process.

An agent is an extension logged in to queues (the numbers of `queue` routes): it logs in and out,
pauses and is ready again through the `agent.state` WebSocket message (the softphone's agent tab)
or the REST API (`/api/webphone/agent/state`). A queue offers its next caller to the available
agent idle the longest: logged in to that queue, not paused, not ringing for another caller and
not on a call. `AgentDirectory` keeps both tables and wakes the waiting callers of a queue when
anything of it changes (`changed`); the queue scenario (builtins/queue.py) does the rest.

State is per process (a cluster shares it through nothing yet: an agent logs in on the process
that owns its queue's calls, which is the one its socket is on in a one-process deployment).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from channels.db import database_sync_to_async

from zorio_widget.routes.models import Route

logger = logging.getLogger(__name__)

AGENT_STATES: Final = ("logged_in", "logged_out", "paused", "ready")


class AgentStateError(ValueError):
    """A state change refused (`code`: `bad_request`, `invalid_target`, `invalid_state`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Agent:
    tenant_id: int
    number: str
    queues: set[str] = field(default_factory=set)
    paused: bool = False
    idle_since: float = field(default_factory=time.monotonic)
    "When its last queue call ended (or it logged in): the longest idle is offered first."
    offered: bool = False
    "Ringing for a queue caller now."

    @property
    def state(self) -> str:
        """What `agent.state` reports: `logged_out`, `paused` or `ready`."""
        if not self.queues:
            return "logged_out"
        return "paused" if self.paused else "ready"

    def as_message(self) -> dict[str, Any]:
        return {"state": self.state, "queues": sorted(self.queues)}


@database_sync_to_async
def queue_numbers(tenant_id: int) -> set[str]:
    """The tenant's queues: the numbers of its enabled `queue` routes."""
    return set(Route.objects.filter(tenant_id=tenant_id, scenario="queue", enabled=True)
               .values_list("number", flat=True))


class AgentDirectory:
    """The agents of every tenant of this process, and the line of callers of every queue."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._agents: dict[tuple[int, str], Agent] = {}
        self._lines: dict[tuple[int, str], list[object]] = {}
        self._changes: dict[tuple[int, str], asyncio.Event] = {}
        self._offering: list[object] = []

    def agent(self, tenant_id: int, number: str) -> Agent:
        return self._agents.get((tenant_id, number)) or Agent(tenant_id, number)

    async def set_state(self, tenant_id: int, number: str, state: str, queue: str | None = None) -> Agent:
        """Applies one `agent.state` request; raises `AgentStateError`."""
        if state not in AGENT_STATES:
            raise AgentStateError("bad_request", f"'state' must be one of {', '.join(AGENT_STATES)}")
        agent = self._agents.get((tenant_id, number)) or Agent(tenant_id, number, idle_since=self._clock())
        queues = await queue_numbers(tenant_id)
        if queue is not None and queue not in queues:
            raise AgentStateError("invalid_target", f"{queue} is not a queue of this tenant")
        chosen = {queue} if queue is not None else queues
        if state == "logged_in":
            if not chosen:
                raise AgentStateError("invalid_target", "this tenant has no queue to log in to")
            if not agent.queues:
                agent.idle_since = self._clock()
            agent.queues |= chosen
            agent.paused = False
        elif state == "logged_out":
            agent.queues -= chosen if queue is not None else set(agent.queues)
        elif not agent.queues:
            raise AgentStateError("invalid_state", f"{number} is not logged in to any queue")
        else:
            agent.paused = state == "paused"
        touched = chosen | agent.queues
        if agent.queues:
            self._agents[(tenant_id, number)] = agent
        else:
            self._agents.pop((tenant_id, number), None)
        logger.info("agent %s (tenant %s): %s %s -> %s %s", number, tenant_id, state, queue or "all queues",
                    agent.state, sorted(agent.queues))
        for name in touched:
            self.changed(tenant_id, name)
        return agent

    def agents_of(self, tenant_id: int, queue: str) -> list[Agent]:
        """Logged in to `queue`, not paused, not ringing: longest idle first."""
        found = [a for a in self._agents.values() if a.tenant_id == tenant_id and queue in a.queues
                 and not a.paused and not a.offered]
        return sorted(found, key=lambda a: a.idle_since)

    def finished_call(self, agent: Agent) -> None:
        agent.idle_since = self._clock()

    # -- the line of callers ---------------------------------------------------------------------------

    def join(self, tenant_id: int, queue: str, caller: object) -> None:
        self._lines.setdefault((tenant_id, queue), []).append(caller)
        self.changed(tenant_id, queue)

    def leave(self, tenant_id: int, queue: str, caller: object) -> None:
        line = self._lines.get((tenant_id, queue), [])
        if caller in line:
            line.remove(caller)
        if not line:
            self._lines.pop((tenant_id, queue), None)
        self.changed(tenant_id, queue)

    def set_offering(self, caller: object, offering: bool) -> None:
        """`caller` rings an agent now (the callers behind it may take the next free agents)."""
        if offering and caller not in self._offering:
            self._offering.append(caller)
        elif not offering and caller in self._offering:
            self._offering.remove(caller)

    def is_offering(self, caller: object) -> bool:
        return caller in self._offering

    def line(self, tenant_id: int, queue: str) -> list[object]:
        return list(self._lines.get((tenant_id, queue), ()))

    def position(self, tenant_id: int, queue: str, caller: object) -> int:
        """1 for the caller first in line."""
        line = self._lines.get((tenant_id, queue), [])
        return line.index(caller) + 1 if caller in line else 0

    def changed(self, tenant_id: int, queue: str) -> None:
        event = self._changes.pop((tenant_id, queue), None)
        if event is not None:
            event.set()

    async def wait_change(self, tenant_id: int, queue: str, timeout_s: float) -> None:
        """Until something of the queue changes, or `timeout_s`."""
        event = self._changes.setdefault((tenant_id, queue), asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass


_directory: AgentDirectory | None = None


def get_directory() -> AgentDirectory:
    global _directory
    if _directory is None:
        _directory = AgentDirectory()
    return _directory
