"""Queue agents and the callers waiting for them, in one process or across a cluster.

An agent is an extension logged in to queues (the numbers of `queue` routes): it logs in and out,
pauses and is ready again through the `agent.state` WebSocket message (the softphone's agent tab)
or the REST API (`/api/webphone/agent/state`). A queue offers its next caller to the available
agent idle the longest: logged in to that queue, not paused, not ringing for another caller and
not on a call. `AgentDirectory` holds the rules (`next_state`, `AgentDirectory.agents_of`) and
keeps both tables in its store (agentstore.py): this process's memory when it works alone, Redis
when it is one of a cluster, so that an agent logged in on any process is offered the callers of
a queue whose scenario runs on any other, "idle the longest" compares every agent of the tenant
on one clock (Redis's), and two processes never ring one agent for two callers at once (an offer
is claimed first). The queue scenario (builtins/queue.py) does the rest.

Waking: a change made in this process wakes that queue's callers waiting here at once (`changed`);
a change made on another process is seen at their next look (builtins/queue.py `POLL_S`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Final

from channels.db import database_sync_to_async

from zorio_widget.routes.models import Route
from zorio_widget.scenarios.agentstore import Agent, AgentStore, MemoryAgents, Waiting

logger = logging.getLogger(__name__)

AGENT_STATES: Final = ("logged_in", "logged_out", "paused", "ready")
__all__ = ["AGENT_STATES", "Agent", "AgentDirectory", "AgentStateError", "Waiting", "get_directory", "next_state",
           "use_directory"]


class AgentStateError(ValueError):
    """A state change refused (`code`: `bad_request`, `invalid_target`, `invalid_state`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def next_state(agent: Agent, state: str, chosen: frozenset[str], queue: str | None, now: float) -> Agent:
    """The agent after one `agent.state` request (`chosen`: the queues it names, or all of the
    tenant's); raises `AgentStateError`. The one place these rules live: both stores apply it."""
    if state == "logged_in":
        if not chosen:
            raise AgentStateError("invalid_target", "this tenant has no queue to log in to")
        idle_since = agent.idle_since if agent.queues else now
        return replace(agent, queues=agent.queues | chosen, paused=False, idle_since=idle_since)
    if state == "logged_out":
        return replace(agent, queues=agent.queues - chosen if queue is not None else frozenset())
    if not agent.queues:
        raise AgentStateError("invalid_state", f"{agent.number} is not logged in to any queue")
    return replace(agent, paused=state == "paused")


@database_sync_to_async
def queue_numbers(tenant_id: int) -> set[str]:
    """The tenant's queues: the numbers of its enabled `queue` routes."""
    return set(Route.objects.filter(tenant_id=tenant_id, scenario="queue", enabled=True)
               .values_list("number", flat=True))


class AgentDirectory:
    """The agents of every tenant, and the line of callers of every queue (in `store`)."""

    def __init__(self, store: AgentStore | None = None) -> None:
        self.store: AgentStore = store if store is not None else MemoryAgents()
        self._changes: dict[tuple[int, str], asyncio.Event] = {}

    async def agent(self, tenant_id: int, number: str) -> Agent:
        return await self.store.get(tenant_id, number) or Agent(tenant_id, number)

    async def set_state(self, tenant_id: int, number: str, state: str, queue: str | None = None) -> Agent:
        """Applies one `agent.state` request; raises `AgentStateError`."""
        if state not in AGENT_STATES:
            raise AgentStateError("bad_request", f"'state' must be one of {', '.join(AGENT_STATES)}")
        queues = await queue_numbers(tenant_id)
        if queue is not None and queue not in queues:
            raise AgentStateError("invalid_target", f"{queue} is not a queue of this tenant")
        chosen = frozenset({queue} if queue is not None else queues)
        before: list[Agent] = []

        def change(agent: Agent, now: float) -> Agent:
            before[:] = [agent]
            return next_state(agent, state, chosen, queue, now)

        agent = await self.store.update(tenant_id, number, change)
        logger.info("agent %s (tenant %s): %s %s -> %s %s", number, tenant_id, state, queue or "all queues",
                    agent.state, sorted(agent.queues))
        for name in chosen | agent.queues | (before[0].queues if before else frozenset()):
            self.changed(tenant_id, name)
        return agent

    async def agents_of(self, tenant_id: int, queue: str) -> list[Agent]:
        """Logged in to `queue`, not paused, not ringing: longest idle first."""
        found = [a for a in await self.store.agents(tenant_id) if queue in a.queues and not a.paused and not a.offered]
        return sorted(found, key=lambda a: (a.idle_since, a.number))

    async def claim(self, tenant_id: int, number: str, ticket: str, ttl_s: float) -> bool:
        """Marks the agent ringing for the caller `ticket` (False: another caller rings it now);
        the claim lapses after `ttl_s` if nothing releases it (its process died)."""
        return await self.store.claim(tenant_id, number, ticket, ttl_s)

    async def release(self, tenant_id: int, number: str, ticket: str, queue: str) -> None:
        await self.store.release(tenant_id, number, ticket)
        self.changed(tenant_id, queue)

    async def finished_call(self, tenant_id: int, number: str) -> None:
        """A queue call of the agent ended: it is idle from now on."""
        await self.store.update(tenant_id, number, lambda agent, now: replace(agent, idle_since=now))

    # -- the line of callers ---------------------------------------------------------------------------

    async def join(self, tenant_id: int, queue: str, ticket: str) -> None:
        await self.store.join(tenant_id, queue, ticket)
        self.changed(tenant_id, queue)

    async def leave(self, tenant_id: int, queue: str, ticket: str) -> None:
        await self.store.leave(tenant_id, queue, ticket)
        self.changed(tenant_id, queue)

    async def set_offering(self, tenant_id: int, queue: str, ticket: str, offering: bool) -> None:
        """The caller `ticket` rings an agent now (the callers behind it may take the next free agents)."""
        await self.store.set_offering(tenant_id, queue, ticket, offering)

    async def line(self, tenant_id: int, queue: str) -> list[Waiting]:
        """The queue's callers, first in line first (on every process)."""
        return await self.store.line(tenant_id, queue)

    async def position(self, tenant_id: int, queue: str, ticket: str) -> int:
        """1 for the caller first in line (0: not in line)."""
        tickets = [waiting.ticket for waiting in await self.line(tenant_id, queue)]
        return tickets.index(ticket) + 1 if ticket in tickets else 0

    def changed(self, tenant_id: int, queue: str) -> None:
        event = self._changes.pop((tenant_id, queue), None)
        if event is not None:
            event.set()

    async def wait_change(self, tenant_id: int, queue: str, timeout_s: float) -> None:
        """Until something of the queue changes in this process, or `timeout_s`."""
        event = self._changes.setdefault((tenant_id, queue), asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass


_directory: AgentDirectory | None = None


def get_directory() -> AgentDirectory:
    """The process's directory: in memory unless `use_directory` gave another (the cluster's, at start)."""
    global _directory
    if _directory is None:
        _directory = AgentDirectory()
    return _directory


def use_directory(directory: AgentDirectory | None) -> None:
    """Makes `directory` the process's (zorio_widget/asgi.py: the Redis one when the process is in a
    cluster; None: a new one in memory on next use)."""
    global _directory
    _directory = directory
