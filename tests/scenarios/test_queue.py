"""The `queue` built-in with fake devices: agents log in (the WebSocket message's and the REST
API's directory), callers hear music and wait in line, the longest-idle ready agent is offered
first, an unanswered offer moves to the next agent, a paused agent is skipped, and a caller that
waits too long goes to `on_max_wait`. Each test runs on both stores of the directory: this
process's memory, and Redis (a cluster's; the machine's Redis under a prefix of the test's own)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.calls.fakes import Phone, until
from tests.scenarios.agentlab import redis_agents
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.routes.models import Route
from zorio_widget.scenarios.agents import AgentDirectory, AgentStateError, get_directory, use_directory
from zorio_widget.scenarios.agentstore import MemoryAgents

pytestmark = pytest.mark.timeout(90)
PhoneOf = Callable[[str], Phone]
RouteOf = Callable[..., Route]
QUEUE = {"ring_timeout_s": 5, "max_wait_s": 60, "position_every_s": 0}


@pytest.fixture(autouse=True, params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, fresh_agents: None) -> AsyncIterator[str]:
    """The process's directory on this test's store."""
    if request.param == "memory":
        use_directory(AgentDirectory(MemoryAgents()))
        yield request.param
        return
    async with redis_agents("node-a") as agents:
        use_directory(AgentDirectory(agents))
        yield request.param


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_agents_log_in_pause_and_out(board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    bob = on_board("1002")
    tenant = bob.device.tenant_id
    directory = get_directory()
    with pytest.raises(AgentStateError) as no_queue:
        await directory.set_state(tenant, "1002", "logged_in")
    assert no_queue.value.code == "invalid_target"
    await route("8000", "queue", QUEUE)
    await route("8001", "queue", QUEUE)
    with pytest.raises(AgentStateError):
        await directory.set_state(tenant, "1002", "paused")  # not logged in
    with pytest.raises(AgentStateError):
        await directory.set_state(tenant, "1002", "logged_in", "9999")
    with pytest.raises(AgentStateError):
        await directory.set_state(tenant, "1002", "napping")
    assert (await directory.set_state(tenant, "1002", "logged_in")).as_message() == {
        "state": "ready", "queues": ["8000", "8001"]}
    assert (await directory.set_state(tenant, "1002", "paused")).state == "paused"
    assert await directory.agents_of(tenant, "8000") == []
    assert (await directory.set_state(tenant, "1002", "ready")).state == "ready"
    assert (await directory.set_state(tenant, "1002", "logged_out", "8000")).queues == {"8001"}
    assert (await directory.agent(tenant, "1002")).as_message() == {"state": "ready", "queues": ["8001"]}
    assert (await directory.set_state(tenant, "1002", "logged_out")).as_message() == {"state": "logged_out",
                                                                                       "queues": []}


async def test_the_longest_idle_agent_first_then_the_next_when_unanswered(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    await route("8000", "queue", QUEUE)
    alice, bob, carol, dave = on_board("1001"), on_board("1002"), on_board("1003"), on_board("1004")
    tenant, directory = alice.device.tenant_id, get_directory()
    await directory.set_state(tenant, "1002", "logged_in", "8000")  # idle the longest
    await directory.set_state(tenant, "1003", "logged_in", "8000")
    await directory.set_state(tenant, "1004", "logged_in", "8000")
    await directory.set_state(tenant, "1004", "paused")  # never offered while paused
    a = await alice.dial("8000")
    await until(lambda: "call.incoming" in bob.device.types())
    await until(lambda: alice.media(a).hears == "playback<music>")
    assert "call.incoming" not in carol.device.types() and "call.incoming" not in dave.device.types()
    offered_to_bob = bob.incoming()
    assert bob.device.last("call.incoming")["from"] == "1001"  # the agent sees who calls
    await until(lambda: bob.ended(offered_to_bob) == "cancelled", timeout_s=10)  # not answered in 5 s
    await until(lambda: "call.incoming" in carol.device.types())
    c = carol.incoming()
    await carol.request("call.answer", c, sdp="answer")
    await until(lambda: alice.media(a).hears == f"forward<{c}>" and carol.media(c).hears == f"forward<{a}>")
    assert "call.incoming" not in dave.device.types()
    await carol.request("call.hangup", c)
    await until(lambda: alice.ended(a) == "hangup", timeout_s=10)
    await eventually(lambda: _idle_longer(directory, tenant, "1002", "1003"))  # carol just finished a call
    assert [a.number for a in await directory.agents_of(tenant, "8000")] == ["1002", "1003"]
    await eventually(lambda: _line_is(directory, tenant, "8000", 0))


async def test_a_caller_waiting_too_long_goes_to_on_max_wait(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    await route("8002", "queue", {**QUEUE, "max_wait_s": 10, "on_max_wait": {"route": "8003"}})
    await route("8003", "tests.scenarios.scripts:reject_with", {"code": 486})
    alice = on_board("1001")
    a = await alice.dial("8002")
    await until(lambda: alice.media(a).hears == "playback<music>")
    await until(lambda: alice.ended(a) is not None, timeout_s=30)
    assert alice.ended(a) == "busy"  # moved to 8003, which rejected with 486
    await eventually(lambda: records_closed(2))  # 8003's record is written by its scenario's task


async def test_callers_wait_in_line_and_hear_their_position(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    await route("8004", "queue", {**QUEUE, "position_every_s": 10})
    alice, carol = on_board("1001"), on_board("1003")
    tenant, directory = alice.device.tenant_id, get_directory()
    a = await alice.dial("8004")
    await eventually(lambda: _line_is(directory, tenant, "8004", 1))
    c = await carol.dial("8004")
    await eventually(lambda: _line_is(directory, tenant, "8004", 2))
    line = [waiting.ticket for waiting in await directory.line(tenant, "8004")]
    assert [await directory.position(tenant, "8004", ticket) for ticket in line] == [1, 2]
    await until(lambda: carol.media(c).hears == "playback<say:en>")  # "You are caller number 2"
    await alice.request("call.hangup", a)
    await eventually(lambda: _line_is(directory, tenant, "8004", 1))
    assert await directory.position(tenant, "8004", line[1]) == 1
    assert await directory.position(tenant, "8004", line[0]) == 0


async def records_closed(count: int) -> bool:
    """`count` call records, all of them closed (the writes done before the database goes)."""
    closed = await CallRecord.objects.filter(ended_at__isnull=False).acount()
    if closed == count and not await CallRecord.objects.filter(ended_at__isnull=True).aexists():
        await asyncio.sleep(0.2)  # the writing thread's own clean-up, after its commit
        return True
    return False


async def _line_is(directory: AgentDirectory, tenant: int, queue: str, length: int) -> bool:
    return len(await directory.line(tenant, queue)) == length


async def _idle_longer(directory: AgentDirectory, tenant: int, first: str, then: str) -> bool:
    return (await directory.agent(tenant, first)).idle_since < (await directory.agent(tenant, then)).idle_since
