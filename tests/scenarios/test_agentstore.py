"""Queue agents across processes: two processes' directories on one Redis (`RedisAgents`, the
machine's Redis under a prefix of the test's own) see one state. The longest-idle agent is the
same for both whichever logged in where, an offer claimed by one is refused to the other (and
lapses, or is taken over when its process is dead), a queue's line is one line in join order
with a dead process's callers out of it (and removed by the reaper's own script), and changes
made at the same instant on two processes are never lost. The memory store keeps the same rules."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.scenarios.agentlab import redis_cluster, store_of
from zorio_widget.cluster.reaper import FORGET_NODE
from zorio_widget.routes.models import Route
from zorio_widget.scenarios.agents import AgentDirectory
from zorio_widget.scenarios.agentstore import Agent, MemoryAgents
from zorio_widget.tenants.models import Extension

pytestmark = pytest.mark.timeout(60)
RouteOf = Callable[..., Route]


@pytest.fixture
async def tenant(demo_extensions: dict[str, Extension], route: RouteOf) -> int:
    await route("8000", "queue", {})
    await route("8001", "queue", {})
    return demo_extensions["1001"].tenant_id


async def test_the_longest_idle_agent_is_the_same_on_every_process(tenant: int) -> None:
    async with redis_cluster() as (redis, keys, nodes):
        a, b = (AgentDirectory(store_of(redis, keys, nodes, n)) for n in ("node-a", "node-b"))
        await b.set_state(tenant, "1003", "logged_in", "8000")  # on process B, first
        await a.set_state(tenant, "1002", "logged_in", "8000")  # on process A, later
        for directory in (a, b):
            assert [x.number for x in await directory.agents_of(tenant, "8000")] == ["1003", "1002"]
        await a.finished_call(tenant, "1003")  # a queue call of A's ended for the agent B logged in
        for directory in (a, b):
            assert [x.number for x in await directory.agents_of(tenant, "8000")] == ["1002", "1003"]
        await a.set_state(tenant, "1002", "paused")
        assert [x.number for x in await b.agents_of(tenant, "8000")] == ["1003"]
        assert (await b.agent(tenant, "1002")).as_message() == {"state": "paused", "queues": ["8000"]}
        await b.set_state(tenant, "1002", "logged_out")
        assert (await a.agent(tenant, "1002")).state == "logged_out"
        assert await redis.smembers(keys.agents(tenant)) == {"1003"}  # logged out: no key left
        assert await redis.exists(keys.agent(tenant, "1002")) == 0


async def test_an_offer_is_claimed_once_across_processes(tenant: int) -> None:
    async with redis_cluster() as (redis, keys, nodes):
        store_a, store_b = store_of(redis, keys, nodes, "node-a"), store_of(redis, keys, nodes, "node-b")
        a, b = AgentDirectory(store_a), AgentDirectory(store_b)
        await a.set_state(tenant, "1002", "logged_in", "8000")
        assert await a.claim(tenant, "1002", "caller-1", ttl_s=30)
        assert not await b.claim(tenant, "1002", "caller-2", ttl_s=30)
        assert await b.agents_of(tenant, "8000") == [] and (await b.agent(tenant, "1002")).offered
        await b.release(tenant, "1002", "caller-1", "8000")  # not B's claim: it stays
        assert not await b.claim(tenant, "1002", "caller-2", ttl_s=30)
        await a.release(tenant, "1002", "caller-1", "8000")
        assert await b.claim(tenant, "1002", "caller-2", ttl_s=0.3)
        await asyncio.sleep(0.5)  # B's process never released it: the claim lapses
        assert await a.claim(tenant, "1002", "caller-3", ttl_s=30)
        nodes.dead.add("node-a")  # A died ringing the agent: B need not wait out the TTL
        assert [x.number for x in await b.agents_of(tenant, "8000")] == ["1002"]
        assert await b.claim(tenant, "1002", "caller-4", ttl_s=30)


async def test_one_line_per_queue_in_join_order_without_dead_processes(tenant: int) -> None:
    async with redis_cluster() as (redis, keys, nodes):
        store_a, store_b = store_of(redis, keys, nodes, "node-a"), store_of(redis, keys, nodes, "node-b")
        a, b = AgentDirectory(store_a), AgentDirectory(store_b)
        await a.join(tenant, "8000", "t1")
        await b.join(tenant, "8000", "t2")
        await a.join(tenant, "8000", "t3")
        await b.set_offering(tenant, "8000", "t2", True)
        for directory in (a, b):
            line = await directory.line(tenant, "8000")
            assert [(w.ticket, w.offering) for w in line] == [("t1", False), ("t2", True), ("t3", False)]
            assert await directory.position(tenant, "8000", "t3") == 3
        assert await b.line(tenant, "8001") == []
        await a.leave(tenant, "8000", "t1")
        assert await b.position(tenant, "8000", "t2") == 1
        nodes.dead.add("node-a")
        assert [w.ticket for w in await b.line(tenant, "8000")] == ["t2"]
        forget = redis.register_script(FORGET_NODE)  # what the reaper runs for a dead node
        await forget(keys=[keys.owned("node-a")], args=["node-a", '"node":"node-a"', "node-a "])
        assert await redis.hkeys(keys.queue_line(tenant, "8000")) == ["t2"]


async def test_changes_at_the_same_instant_on_two_processes_are_all_kept(tenant: int) -> None:
    """A pause on B while A ends many queue calls of the agent: without the transaction, a write of
    A's based on what it read before the pause would bring the agent back to ready."""
    async with redis_cluster() as (redis, keys, nodes):
        a, b = (AgentDirectory(store_of(redis, keys, nodes, n)) for n in ("node-a", "node-b"))
        await a.set_state(tenant, "1002", "logged_in", "8000")
        before = (await a.agent(tenant, "1002")).idle_since
        for state in ("paused", "ready", "paused", "ready", "paused"):  # each round may catch a lost write
            assert (await churning(a, tenant, b.set_state(tenant, "1002", state))).state == state
            agent = await b.agent(tenant, "1002")
            assert agent.state == state and agent.idle_since > before
            before = agent.idle_since
        await churning(b, tenant, a.set_state(tenant, "1002", "logged_in", "8001"))
        agent = await a.agent(tenant, "1002")
        assert agent.queues == {"8000", "8001"} and agent.state == "ready"


async def churning(directory: AgentDirectory, tenant: int, change: Awaitable[Agent]) -> Agent:
    """`change`, while four tasks keep ending queue calls of agent 1002 through `directory`."""
    done = asyncio.Event()

    async def churn() -> int:
        count = 0
        while not done.is_set():
            await directory.finished_call(tenant, "1002")
            count += 1
        return count

    churners = [asyncio.ensure_future(churn()) for _ in range(4)]
    await asyncio.sleep(0.05)
    try:
        return await change
    finally:
        await asyncio.sleep(0.05)
        done.set()
        assert sum(await asyncio.gather(*churners)) > len(churners)  # they kept writing around the change


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_both_stores_keep_the_same_rules(tenant: int, kind: str) -> None:
    async with redis_cluster() as (redis, keys, nodes):
        store = MemoryAgents() if kind == "memory" else store_of(redis, keys, nodes, "node-a")
        directory = AgentDirectory(store)
        assert (await directory.agent(tenant, "1002")).as_message() == {"state": "logged_out", "queues": []}
        agent = await directory.set_state(tenant, "1002", "logged_in")
        assert agent.queues == {"8000", "8001"} and agent.state == "ready" and agent.idle_since > 0
        first_idle = agent.idle_since
        await directory.set_state(tenant, "1002", "logged_in", "8000")  # already in: idle time kept
        assert (await directory.agent(tenant, "1002")).idle_since == first_idle
        assert await directory.claim(tenant, "1002", "t", ttl_s=0.2)
        assert not await directory.claim(tenant, "1002", "u", ttl_s=0.2)
        await asyncio.sleep(0.3)
        assert await directory.claim(tenant, "1002", "u", ttl_s=5)
        await directory.release(tenant, "1002", "u", "8000")
        await directory.join(tenant, "8000", "x")
        await directory.join(tenant, "8000", "y")
        await directory.set_offering(tenant, "8000", "x", True)
        assert [(w.ticket, w.offering) for w in await directory.line(tenant, "8000")] == [("x", True), ("y", False)]
        await directory.leave(tenant, "8000", "x")
        assert await directory.position(tenant, "8000", "y") == 1
        await directory.set_state(tenant, "1002", "logged_out", "8001")
        assert (await directory.agent(tenant, "1002")).queues == {"8000"}
