"""Where queue agents' state and the queues' lines are kept: this process's memory, or Redis.

`AgentDirectory` (agents.py) holds the rules and asks a store for the state:

- `MemoryAgents`: a process alone (the in-memory channel layer, `make run`): dictionaries, the
  process's monotonic clock.
- `RedisAgents`: a process of a cluster (docs/CLUSTER.md; keys in zorio_widget/cluster/keys.py).
  An agent's state is one JSON string (`agent:<tenant>:<number>`: queues, paused, idle since)
  listed in the tenant's set (`agents:<tenant>`), changed only in a WATCH/MULTI transaction, so
  two processes changing one agent at once (a pause on one, a call ending on the other) never
  lose either change; "idle since" is Redis's clock (`TIME`), the one clock every process shares.
  An offer is a claim (`offer:<tenant>:<number>`, SET if absent or held by a dead node, with a
  TTL), so one agent rings for one caller at a time cluster-wide. A queue's line is a hash
  (ticket -> "<node> <joined at> <offering>") listed in the node's `owned` set: a dead process's
  callers leave the line with it (the reaper, and readers skip dead nodes meanwhile).

Every method is a few round trips: `agents()` one SMEMBERS and one MGET, `line()` one HGETALL.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import WatchError

from zorio_widget.cluster.keys import Keys
from zorio_widget.cluster.node import Node

UPDATE_ATTEMPTS: Final = 50
"Transactions on one agent's state tried before giving up (each retry means another process changed it)."
RETRY_PAUSE_S: Final = 0.002
"""Up to this much times the attempt's number, at random, between two attempts: writers that keep
colliding on one agent spread out instead of aborting each other in step."""


@dataclass(frozen=True)
class Agent:
    tenant_id: int
    number: str
    queues: frozenset[str] = frozenset()
    paused: bool = False
    idle_since: float = 0.0
    "When its last queue call ended (or it logged in), on the store's clock: the longest idle is offered first."
    offered: bool = False
    "Ringing for a queue caller now (on any process)."

    @property
    def state(self) -> str:
        """What `agent.state` reports: `logged_out`, `paused` or `ready`."""
        if not self.queues:
            return "logged_out"
        return "paused" if self.paused else "ready"

    def as_message(self) -> dict[str, Any]:
        return {"state": self.state, "queues": sorted(self.queues)}


@dataclass(frozen=True)
class Waiting:
    """A caller in a queue's line: its ticket (the scenario leg's call id) and whether it rings an agent now."""

    ticket: str
    offering: bool = False


Change = Callable[[Agent, float], Agent]
"The agent as it is (logged out if unknown) and the store's time now -> the agent as it must be."


class AgentStore(Protocol):
    async def get(self, tenant_id: int, number: str) -> Agent | None: ...

    async def update(self, tenant_id: int, number: str, change: Change) -> Agent:
        """Applies `change` atomically and stores its result (an agent with no queue is removed)."""

    async def agents(self, tenant_id: int) -> list[Agent]:
        """The tenant's logged-in agents, `offered` filled in."""

    async def claim(self, tenant_id: int, number: str, ticket: str, ttl_s: float) -> bool: ...

    async def release(self, tenant_id: int, number: str, ticket: str) -> None: ...

    async def join(self, tenant_id: int, queue: str, ticket: str) -> None: ...

    async def leave(self, tenant_id: int, queue: str, ticket: str) -> None: ...

    async def set_offering(self, tenant_id: int, queue: str, ticket: str, offering: bool) -> None: ...

    async def line(self, tenant_id: int, queue: str) -> list[Waiting]:
        """First in line first."""


class MemoryAgents:
    """The store of a process alone."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._agents: dict[tuple[int, str], Agent] = {}
        self._offers: dict[tuple[int, str], tuple[str, float]] = {}
        "(tenant, number) -> (ticket, lapses at)."
        self._lines: dict[tuple[int, str], dict[str, bool]] = {}
        "(tenant, queue) -> ticket -> offering, in the order they joined."

    def _offered(self, key: tuple[int, str]) -> bool:
        held = self._offers.get(key)
        return held is not None and held[1] > self._clock()

    async def get(self, tenant_id: int, number: str) -> Agent | None:
        agent = self._agents.get((tenant_id, number))
        return replace(agent, offered=self._offered((tenant_id, number))) if agent is not None else None

    async def update(self, tenant_id: int, number: str, change: Change) -> Agent:
        key = (tenant_id, number)
        agent = change(self._agents.get(key) or Agent(tenant_id, number), self._clock())
        if agent.queues:
            self._agents[key] = replace(agent, offered=False)
        else:
            self._agents.pop(key, None)
        return replace(agent, offered=self._offered(key))

    async def agents(self, tenant_id: int) -> list[Agent]:
        return [replace(a, offered=self._offered(key)) for key, a in self._agents.items() if key[0] == tenant_id]

    async def claim(self, tenant_id: int, number: str, ticket: str, ttl_s: float) -> bool:
        key = (tenant_id, number)
        if self._offered(key):
            return False
        self._offers[key] = (ticket, self._clock() + ttl_s)
        return True

    async def release(self, tenant_id: int, number: str, ticket: str) -> None:
        key = (tenant_id, number)
        if self._offers.get(key, ("", 0.0))[0] == ticket:
            del self._offers[key]

    async def join(self, tenant_id: int, queue: str, ticket: str) -> None:
        self._lines.setdefault((tenant_id, queue), {})[ticket] = False

    async def leave(self, tenant_id: int, queue: str, ticket: str) -> None:
        line = self._lines.get((tenant_id, queue), {})
        line.pop(ticket, None)
        if not line:
            self._lines.pop((tenant_id, queue), None)

    async def set_offering(self, tenant_id: int, queue: str, ticket: str, offering: bool) -> None:
        line = self._lines.get((tenant_id, queue), {})
        if ticket in line:
            line[ticket] = offering

    async def line(self, tenant_id: int, queue: str) -> list[Waiting]:
        return [Waiting(t, offering) for t, offering in self._lines.get((tenant_id, queue), {}).items()]


CLAIM: Final = """
local holder = redis.call('GET', KEYS[1])
if holder then
  local node = string.match(holder, '^(%S+)')
  for i = 3, #ARGV do
    if node == ARGV[i] then holder = false end
  end
  if holder then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
"""KEYS: the agent's offer; ARGV: "<node> <ticket>", the TTL in ms, then the dead nodes' ids (a claim
of a dead process does not wait out its TTL)."""

RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisAgents:
    """The store of a cluster's process (`of_node`), shared by every process of the cluster."""

    def __init__(self, redis: Redis, keys: Keys, node_id: str, is_alive: Callable[[str], bool],
                 dead: Callable[[], Iterable[str]]) -> None:
        """`redis` decodes responses (str, never bytes, as the node's client); `is_alive(node)` and
        `dead()` are the node's view of the others."""
        self.redis = redis
        self.keys = keys
        self.node_id = node_id
        self._is_alive = is_alive
        self._dead = dead
        self._claim = redis.register_script(CLAIM)
        self._release = redis.register_script(RELEASE)
        self._joined: dict[str, float] = {}
        "The tickets this process put in a line, with when (their entries keep it)."

    @classmethod
    def of_node(cls, node: Node) -> RedisAgents:
        return cls(node.redis, node.keys, node.node_id, node.is_alive, lambda: list(node.dead))

    async def now(self) -> float:
        seconds, microseconds = await self.redis.time()
        return float(seconds) + microseconds / 1e6

    def _decode(self, tenant_id: int, number: str, raw: str | bytes | None) -> Agent | None:
        if raw is None:
            return None
        data = json.loads(raw)
        return Agent(tenant_id, number, frozenset(data["queues"]), bool(data["paused"]), float(data["idle_since"]))

    def _held(self, holder: str | bytes | None) -> bool:
        return holder is not None and self._is_alive(str(holder).split(" ", 1)[0])

    async def get(self, tenant_id: int, number: str) -> Agent | None:
        raw, holder = await self.redis.mget([self.keys.agent(tenant_id, number), self.keys.agent_offer(tenant_id, number)])
        agent = self._decode(tenant_id, number, raw)
        return replace(agent, offered=self._held(holder)) if agent is not None else None

    async def update(self, tenant_id: int, number: str, change: Change) -> Agent:
        key, index = self.keys.agent(tenant_id, number), self.keys.agents(tenant_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for attempt in range(1, UPDATE_ATTEMPTS + 1):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    seconds, microseconds = await pipe.time()
                    current = self._decode(tenant_id, number, raw) or Agent(tenant_id, number)
                    agent = change(current, float(seconds) + microseconds / 1e6)
                    pipe.multi()
                    if agent.queues:
                        pipe.set(key, json.dumps({"queues": sorted(agent.queues), "paused": agent.paused,
                                                  "idle_since": agent.idle_since}, separators=(",", ":")))
                        pipe.sadd(index, number)
                    else:
                        pipe.delete(key)
                        pipe.srem(index, number)
                    await pipe.execute()
                    return replace(agent, offered=False)
                except WatchError:
                    await asyncio.sleep(random.uniform(0, RETRY_PAUSE_S * attempt))
        raise RuntimeError(f"agent {number}: state changed {UPDATE_ATTEMPTS} times while being changed")

    async def agents(self, tenant_id: int) -> list[Agent]:
        numbers = sorted(str(n) for n in await self.redis.smembers(self.keys.agents(tenant_id)))
        if not numbers:
            return []
        raws = await self.redis.mget([self.keys.agent(tenant_id, n) for n in numbers]
                                     + [self.keys.agent_offer(tenant_id, n) for n in numbers])
        found = []
        for number, raw, holder in zip(numbers, raws[:len(numbers)], raws[len(numbers):], strict=True):
            agent = self._decode(tenant_id, number, raw)
            if agent is not None:
                found.append(replace(agent, offered=self._held(holder)))
        return found

    async def claim(self, tenant_id: int, number: str, ticket: str, ttl_s: float) -> bool:
        won = await self._claim(keys=[self.keys.agent_offer(tenant_id, number)],
                                args=[f"{self.node_id} {ticket}", int(ttl_s * 1000), *self._dead()])
        return bool(won)

    async def release(self, tenant_id: int, number: str, ticket: str) -> None:
        await self._release(keys=[self.keys.agent_offer(tenant_id, number)], args=[f"{self.node_id} {ticket}"])

    def _entry(self, ticket: str, offering: bool) -> str:
        return f"{self.node_id} {self._joined[ticket]!r} {int(offering)}"

    async def join(self, tenant_id: int, queue: str, ticket: str) -> None:
        self._joined[ticket] = await self.now()
        key = self.keys.queue_line(tenant_id, queue)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, ticket, self._entry(ticket, False))
        pipe.sadd(self.keys.owned(self.node_id), key)
        await pipe.execute()

    async def leave(self, tenant_id: int, queue: str, ticket: str) -> None:
        self._joined.pop(ticket, None)
        await self.redis.hdel(self.keys.queue_line(tenant_id, queue), ticket)

    async def set_offering(self, tenant_id: int, queue: str, ticket: str, offering: bool) -> None:
        if ticket in self._joined:
            await self.redis.hset(self.keys.queue_line(tenant_id, queue), ticket, self._entry(ticket, offering))

    async def line(self, tenant_id: int, queue: str) -> list[Waiting]:
        entries = await self.redis.hgetall(self.keys.queue_line(tenant_id, queue))
        waiting = []
        for ticket, value in entries.items():
            node, joined, offering = str(value).split(" ")
            if self._is_alive(node):
                waiting.append((float(joined), str(ticket), offering == "1"))
        return [Waiting(ticket, offering) for _joined, ticket, offering in sorted(waiting)]
