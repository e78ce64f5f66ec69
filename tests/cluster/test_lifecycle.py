"""A process's life in a cluster: full (the call goes elsewhere), a frozen tab, SIGTERM.

Two real server processes; the first takes one call only (`MAX_CALLS_PER_PROCESS=1`) and drains
for 6 s (`DRAIN_TIMEOUT_S`). The drain test stops it, so it runs last.
"""

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from tests.calls.conftest import CALLER_HZ, ORIGIN, near
from tests.cluster.conftest import CLUSTER_ENV, PhoneOn, metric, node_of, nodes, presence, record_of, scrape, wait_until
from tests.cluster.frozen import FrozenTab
from tests.cluster.test_calls_across import connected
from tests.live import LiveCluster, start_cluster

pytestmark = [pytest.mark.live, pytest.mark.timeout(240)]

DRAIN_TIMEOUT_S = 6.0


@pytest.fixture(scope="module")
def pair() -> Iterator[LiveCluster]:
    cluster = start_cluster(2, CLUSTER_ENV, server_env=[
        {"MAX_CALLS_PER_PROCESS": "1", "DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S)}, {}])
    yield cluster
    cluster.stop()


async def test_a_full_process_places_the_call_on_another(pair: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = pair.servers
    alice, carol = await phone_on(a, "1001"), await phone_on(a, "1003")
    music = await alice.call("*44", None)  # a's only slot
    await music.expect("call.answered", timeout_s=10)
    echo = await carol.call("*43", CALLER_HZ)  # a is full: the call, and carol's media, go to b
    await echo.expect("call.answered", timeout_s=15)
    assert await echo.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ), 15)
    on_a, on_b = await scrape(a), await scrape(b)
    assert metric(on_a, "zorio_live_calls", tenant="demo") == 1 and metric(on_b, "zorio_live_calls", tenant="demo") == 1
    assert metric(on_a, "zorio_cluster_remote_calls") == 1 and metric(on_b, "zorio_cluster_remote_parties") == 1
    await echo.send("call.mute")  # carol's requests go from a to b
    await echo.expect("call.muted", timeout_s=10)
    await echo.hangup()
    assert (await echo.expect("call.ended", timeout_s=10))["reason"] == "hangup"
    await music.hangup()
    await music.expect("call.ended", timeout_s=10)


async def test_a_tab_that_stops_answering_pings_leaves_presence_within_15_s(
        pair: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = pair.servers
    token = await asyncio.to_thread(b.token, "1004")
    tab = await FrozenTab.open(b.ws_url, token, ORIGIN)
    await tab.expect("registered")
    frozen_at = time.monotonic()
    assert len(await asyncio.to_thread(presence, pair, "1004")) == 1
    tab.freeze()
    try:
        await wait_until(lambda: not presence(pair, "1004"), timeout_s=20)
        gone_after = time.monotonic() - frozen_at
        assert gone_after <= 15, gone_after
        dave = await phone_on(a, "1004")  # the agent's live device: a new call rings it, and only it
        alice = await phone_on(b, "1001")
        call = await alice.call("1004", CALLER_HZ)
        incoming = await dave.expect("call.incoming", timeout_s=15)
        assert incoming["uuid"] == call.uuid
        assert len(await asyncio.to_thread(presence, pair, "1004")) == 1
        await call.hangup()
        await dave.expect("call.ended", timeout_s=10)
    finally:
        tab.close()


async def test_sigterm_drains_live_calls_then_the_process_exits(pair: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = pair.servers
    alice, bob = await phone_on(a, "1001"), await phone_on(b, "1002")
    call, answered = await connected(alice, bob, "1002")  # owned by a
    draining = node_of(pair, a)
    terminated_at = time.monotonic()
    a.terminate()

    def not_ready() -> bool:
        status, body = a.get("/readyz")
        return status == 503 and json.loads(body)["status"] == "draining"

    await wait_until(not_ready, timeout_s=3)
    refused = await alice.request({"type": "call.create", "destination": "*43", "sdp": "v=0"}, "call.trying")
    assert refused["type"] == "error" and refused["code"] == "draining", refused
    assert time.monotonic() - terminated_at < DRAIN_TIMEOUT_S - 1
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ), 3)

    ended = await call.expect("call.ended", timeout_s=DRAIN_TIMEOUT_S + 10)
    ended_after = time.monotonic() - terminated_at
    assert ended["reason"] == "hangup" and DRAIN_TIMEOUT_S - 1 <= ended_after <= DRAIN_TIMEOUT_S + 6, ended_after
    assert (await answered.expect("call.ended", timeout_s=10))["reason"] == "hangup"
    assert await asyncio.to_thread(a.process.wait, 15) == 0  # it exits, cleanly, by itself
    assert time.monotonic() - terminated_at < DRAIN_TIMEOUT_S + 15
    record = await asyncio.to_thread(record_of, b, "1002", call.uuid)
    assert record is not None and record["end_reason"] == "hangup" and record["ended_at"]
    # a left the cluster at once (its record and cards removed), not after its heartbeat's TTL
    assert draining not in await asyncio.to_thread(nodes, pair)
    assert all(card["node"] != draining for card in await asyncio.to_thread(presence, pair, "1001"))

    async def b_alone() -> bool:
        return metric(await scrape(b), "zorio_cluster_nodes") == 1

    for _ in range(12):  # b's view of the others is as fresh as its last heartbeat (2 s)
        if await b_alone():
            break
        await asyncio.sleep(0.25)
    assert await b_alone()
