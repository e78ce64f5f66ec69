"""Three server processes of one cluster: ringing forked across processes, processes that die.

Real `python -m zorio_widget.serve` processes (one PostgreSQL database, one Redis prefix), real
aiortc peers with tones. The last two tests kill processes with SIGKILL, as a crash would.
"""

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.calls.conftest import CALLEE_HZ, CALLER_HZ, near
from tests.cluster.conftest import CLUSTER_ENV, PhoneOn, node_of, presence, record_of, wait_until
from tests.cluster.test_calls_across import connected
from tests.live import LiveCluster, start_cluster

pytestmark = [pytest.mark.live, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def three() -> Iterator[LiveCluster]:
    cluster = start_cluster(3, CLUSTER_ENV)
    yield cluster
    cluster.stop()


async def test_ringing_forks_across_processes_and_the_first_answer_wins(three: LiveCluster, phone_on: PhoneOn) -> None:
    n0, n1, n2 = three.servers
    alice = await phone_on(n0, "1001")
    bob_here, bob_there = await phone_on(n1, "1002"), await phone_on(n2, "1002")
    assert sorted(card["node"] for card in await asyncio.to_thread(presence, three, "1002")) == sorted(
        [node_of(three, n1), node_of(three, n2)])
    call = await alice.call("1002", CALLER_HZ)
    ringing_here = await bob_here.expect("call.incoming", timeout_s=15)
    ringing_there = await bob_there.expect("call.incoming", timeout_s=15)
    assert ringing_here["uuid"] == ringing_there["uuid"] == call.uuid
    assert ringing_here["call_id"] != ringing_there["call_id"]
    await call.expect("call.ringing", timeout_s=10)
    answered = await bob_there.answer(ringing_there, CALLEE_HZ)
    ended = await bob_here.expect("call.ended", timeout_s=10, call_id=ringing_here["call_id"])
    assert ended["reason"] == "answered-elsewhere"
    await call.expect("call.answered", timeout_s=15)
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLEE_HZ), 15)
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ), 15)
    await call.hangup()
    assert (await answered.expect("call.ended", timeout_s=10))["reason"] == "hangup"


async def test_the_callee_process_dies_and_the_callee_takes_the_call_back_on_another(
        three: LiveCluster, phone_on: PhoneOn) -> None:
    n0, n1, n2 = three.servers
    alice, bob = await phone_on(n0, "1001"), await phone_on(n2, "1002")
    call, answered = await connected(alice, bob, "1002")
    n2.kill()  # bob's socket dies with its process; his peer connection to n0's media does not
    bob_again = await phone_on(n1, "1002")  # he reconnects at once, before n2's heartbeat expires
    assert [c["call_id"] for c in bob_again.registration["calls"]] == [answered.call_id]
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ), 10)
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLEE_HZ), 10)
    await bob_again.send({"type": "call.hangup", "call_id": answered.call_id})
    assert (await call.expect("call.ended", timeout_s=10))["reason"] == "hangup"
    assert (await bob_again.expect("call.ended", timeout_s=10, call_id=answered.call_id))["reason"] == "hangup"


async def test_the_owner_is_killed_another_closes_its_record_and_the_party_is_told(
        three: LiveCluster, phone_on: PhoneOn) -> None:
    n0, n1 = three.servers[0], three.servers[1]
    dead = node_of(three, n0)
    alice, bob = await phone_on(n0, "1001"), await phone_on(n1, "1002")
    call, answered = await connected(alice, bob, "1002")
    killed_at = time.monotonic()
    n0.kill()
    ended = await answered.expect("call.ended", timeout_s=30)
    told_after = time.monotonic() - killed_at
    assert ended["reason"] == "failed" and told_after <= 30, (ended, told_after)

    def closed() -> bool:
        record = record_of(n1, "1002", call.uuid)
        return bool(record and record["end_reason"] == "failed" and record["ended_at"])

    await wait_until(closed, timeout_s=max(1.0, 30 - (time.monotonic() - killed_at)))
    assert time.monotonic() - killed_at <= 30
    record = await asyncio.to_thread(record_of, n1, "1002", call.uuid)
    assert record is not None and record["answered_at"] and record["duration"] >= 0
    # the dead node's fields are gone too: alice's card no longer says she can be rung there
    await wait_until(lambda: all(card["node"] != dead for card in presence(three, "1001")), timeout_s=10)
