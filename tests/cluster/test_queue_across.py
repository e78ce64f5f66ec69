"""A queue whose callers' scenario runs on one process, offering agents logged in on any process.

Two real server processes of one cluster (PostgreSQL + Redis). The caller's socket is on A, so
its call and the `queue` scenario run on A. Bob logs in on B, first; Carol on A, after him: the
longest idle agent cluster-wide is Bob (A alone would only know Carol). Bob is offered first and
lets it ring out; the offer moves on to Carol (A), who declines; Bob is offered again and answers
on B, and the two talk (real aiortc peers, each hears the other's tone). Bob's state reaches his
other device on A (`agent.state`) and A's REST API; once the call is over, Bob's idle time is
newer than Carol's in Redis (he finished a call, she did not).
"""

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.calls.conftest import CALLEE_HZ, CALLER_HZ, near
from tests.cluster.conftest import CLUSTER_ENV, PhoneOn, redis_of
from tests.live import LiveCluster, LiveServer, manage, start_cluster
from zorio_widget.client import PhoneClient

pytestmark = [pytest.mark.live, pytest.mark.timeout(180)]
QUEUE = "8000"
RING_TIMEOUT_S = 5


@pytest.fixture(scope="module")
def two() -> Iterator[LiveCluster]:
    cluster = start_cluster(2, CLUSTER_ENV)
    manage(cluster[0], "add_route", "demo", QUEUE, "queue", "--params",
           json.dumps({"ring_timeout_s": RING_TIMEOUT_S, "position_every_s": 0, "max_wait_s": 120}))
    yield cluster
    cluster.stop()


def agent_state_by_api_key(server: LiveServer, number: str) -> dict:
    request = urllib.request.Request(f"{server.url}/api/webphone/agents/{number}/state",
                                     headers={"Authorization": f"Api-Key {server.api_key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def idle_since(cluster: LiveCluster, number: str) -> float:
    client = redis_of(cluster)
    try:
        [key] = list(client.scan_iter(f"{cluster.prefix}:cluster:agent:*:{number}"))
        return float(json.loads(client.get(key) or "{}")["idle_since"])
    finally:
        client.close()


async def log_in(agent: PhoneClient) -> dict:
    reply = await agent.request({"type": "agent.state", "state": "logged_in", "queue": QUEUE}, "agent.state")
    assert reply == {"type": "agent.state", "req_id": reply["req_id"], "state": "ready", "queues": [QUEUE]}, reply
    return reply


async def test_an_agent_logged_in_on_another_process_is_offered_the_queue_call(
        two: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = two[0], two[1]
    bob_on_b, bob_on_a = await phone_on(b, "1002"), await phone_on(a, "1002")
    carol = await phone_on(a, "1003")
    await log_in(bob_on_b)
    told = await bob_on_a.expect("agent.state", timeout_s=10)  # his device on the other process
    assert (told["state"], told["queues"], told.get("req_id")) == ("ready", [QUEUE], None)
    assert await asyncio.to_thread(agent_state_by_api_key, a, "1002") == {"state": "ready", "queues": [QUEUE]}
    await asyncio.sleep(0.05)  # Carol's idle time is later than Bob's on Redis's clock
    await log_in(carol)

    alice = await phone_on(a, "1001")
    call = await alice.call(QUEUE, CALLER_HZ)
    await call.expect("call.answered", timeout_s=15)  # the queue answers, then plays music
    first = await bob_on_b.expect("call.incoming", timeout_s=15)
    assert first["from"] == "1001"
    await bob_on_a.expect("call.incoming", timeout_s=5)  # every device of the agent rings
    assert not [f for f in carol.inbox if f["type"] == "call.incoming"], "Carol was offered before Bob"
    # Bob lets it ring out: the offer moves on to Carol, on A
    assert (await bob_on_b.expect("call.ended", timeout_s=RING_TIMEOUT_S + 10))["reason"] == "cancelled"
    second = await carol.expect("call.incoming", timeout_s=10)
    await carol.send({"type": "call.reject", "call_id": second["call_id"], "code": 486})
    # ...and comes back to Bob, who answers this time on B
    again = await bob_on_b.expect("call.incoming", timeout_s=15)
    assert again["uuid"] != first["uuid"]
    answered = await bob_on_b.answer(again, CALLEE_HZ)
    await answered.expect("call.answered", timeout_s=10)
    elsewhere = await bob_on_a.expect("call.incoming", timeout_s=5, uuid=again["uuid"])
    ended = await bob_on_a.expect("call.ended", timeout_s=10, call_id=elsewhere["call_id"])
    assert ended["reason"] == "answered-elsewhere"
    assert call.probe is not None and answered.probe is not None
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.03 and near(p.dominant_hz(), CALLER_HZ), 15)
    assert await call.probe.wait_for(lambda p: p.rms() > 0.03 and near(p.dominant_hz(), CALLEE_HZ), 15)
    await answered.hangup()
    assert (await call.expect("call.ended", timeout_s=15))["reason"] == "hangup"
    deadline = asyncio.get_running_loop().time() + 10
    while await asyncio.to_thread(idle_since, two, "1002") <= await asyncio.to_thread(idle_since, two, "1003"):
        assert asyncio.get_running_loop().time() < deadline, "Bob's idle time was not renewed"
        await asyncio.sleep(0.2)
