"""Calls whose parties' sockets sit on two different server processes of one cluster.

Two real `python -m zorio_widget.serve` processes share a fresh PostgreSQL database and a Redis
prefix. The caller's process owns the call (both peer connections, the relay); the callee's
socket on the other process reaches it through the channel layer. Real aiortc peers with tones:
each side must hear the other's frequency.
"""

import asyncio
from collections.abc import Iterator

import pytest
from aiortc import RTCSessionDescription

from tests.calls.conftest import CALLEE_HZ, CALLER_HZ, near
from tests.cluster.conftest import CLUSTER_ENV, PhoneOn, live_calls_counted, metric, record_of, scrape, wait_until
from tests.live import LiveCluster, LiveServer, manage, start_cluster
from zorio_widget.client import PhoneClient
from zorio_widget.client.phone import ClientCall

pytestmark = [pytest.mark.live, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def two() -> Iterator[LiveCluster]:
    cluster = start_cluster(2, CLUSTER_ENV)
    yield cluster
    cluster.stop()


async def connected(caller: PhoneClient, callee: PhoneClient, number: str) -> tuple[ClientCall, ClientCall]:
    """`caller` calls `number`, `callee` answers: both hear each other."""
    call = await caller.call(number, CALLER_HZ)
    incoming = await callee.expect("call.incoming", timeout_s=15)
    assert incoming["uuid"] == call.uuid and incoming["to"] == number
    await call.expect("call.ringing", timeout_s=10)
    answered = await callee.answer(incoming, CALLEE_HZ)
    await call.expect("call.answered", timeout_s=15)
    await answered.expect("call.answered", timeout_s=15)
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLEE_HZ), 15)
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ), 15)
    return call, answered


def shell(server: LiveServer, code: str) -> None:
    manage(server, "shell", "-c", code)


async def test_a_call_between_two_processes_carries_audio_both_ways(two: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = two[0], two[1]
    alice, bob = await phone_on(a, "1001"), await phone_on(b, "1002")
    call, answered = await connected(alice, bob, "1002")
    await answered.send("call.hold")  # requests from the callee's process reach the owner
    await answered.expect("call.held", timeout_s=10, by="local")
    assert (await call.expect("call.held", timeout_s=10))["by"] == "remote"
    await answered.send("call.unhold")
    await call.expect("call.resumed", timeout_s=10)
    await answered.send("call.dtmf", digits="5")
    assert (await call.expect("call.dtmf_received", timeout_s=10))["digit"] == "5"
    await answered.hangup()
    assert (await call.expect("call.ended", timeout_s=10))["reason"] == "hangup"
    assert (await answered.expect("call.ended", timeout_s=10))["reason"] == "hangup"
    record = await asyncio.to_thread(record_of, b, "1002", call.uuid)
    assert record is not None and record["end_reason"] == "hangup" and record["answered_at"] and record["duration"] > 0


async def test_metrics_during_a_cross_process_call(two: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = two[0], two[1]
    alice, bob = await phone_on(a, "1001"), await phone_on(b, "1002")
    call, answered = await connected(alice, bob, "1002")
    owner, other = await scrape(a), await scrape(b)
    # The caller's process owns the call and both of its legs; the callee's process holds a socket.
    assert metric(owner, "zorio_live_calls", tenant="demo") == 1 and metric(owner, "zorio_call_legs", tenant="demo") == 2
    assert metric(other, "zorio_live_calls", tenant="demo") == 0 and metric(other, "zorio_call_legs", tenant="demo") == 0
    assert metric(owner, "zorio_cluster_remote_parties") == 1 and metric(other, "zorio_cluster_remote_calls") == 1
    assert metric(owner, "zorio_registered_devices", tenant="demo") == 1
    assert metric(other, "zorio_registered_devices", tenant="demo") == 1
    for page in (owner, other):
        assert metric(page, "zorio_cluster_nodes") == 2
        assert metric(page, "zorio_cluster_capacity_limit_calls") == 240  # 2 x MAX_CALLS_PER_PROCESS
    assert metric(owner, "zorio_cluster_capacity_in_use_calls") == 1
    # The other process sees the owner's load as of its last heartbeat (every 2 s).
    for _ in range(20):
        if metric(other, "zorio_cluster_capacity_in_use_calls") == 1:
            break
        await asyncio.sleep(0.5)
        other = await scrape(b)
    assert metric(other, "zorio_cluster_capacity_in_use_calls") == 1
    assert metric(owner, "zorio_relayed_packets_total") > 0
    await call.hangup()
    await answered.expect("call.ended", timeout_s=10)
    after = await scrape(a)
    assert metric(after, "zorio_cluster_remote_parties") == 0 and metric(after, "zorio_live_calls", tenant="") == 0


async def test_busy_and_call_waiting_are_decided_across_processes(two: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = two[0], two[1]
    await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Extension; "
                                      "Extension.objects.filter(number='1004').update(call_waiting=False)")
    try:
        carol, dave = await phone_on(b, "1003"), await phone_on(b, "1004")
        first, _ = await connected(carol, dave, "1004")  # owned by b
        alice = await phone_on(a, "1001")
        second = await alice.call("1004", CALLER_HZ)  # owned by a, which asks the cluster
        assert (await second.expect("call.ended", timeout_s=15))["reason"] == "busy"
        assert not [f for f in dave.inbox if f["type"] == "call.incoming"]
        record = await asyncio.to_thread(record_of, a, "1001", second.uuid)
        assert record is not None and record["end_reason"] == "busy"
    finally:
        await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Extension; "
                                          "Extension.objects.filter(number='1004').update(call_waiting=True)")
    waiting = await alice.call("1004", CALLER_HZ)  # call waiting on: dave's second call rings
    incoming = await dave.expect("call.incoming", timeout_s=15)
    assert incoming["uuid"] == waiting.uuid and incoming["from"] == "1001"
    await waiting.hangup()
    assert (await dave.expect("call.ended", timeout_s=10, call_id=incoming["call_id"]))["reason"] == "cancelled"
    await first.hangup()


async def placed_at_once(callers: list[PhoneClient], number: str) -> list[ClientCall]:
    """Each caller's call to `number`, their `call.create` frames sent at the same instant (the
    offers are made before, so nothing on the clients' side spreads them apart)."""
    media = [PhoneClient.new_pc(CALLER_HZ) for _ in callers]
    for pc, _tone in media:
        await pc.setLocalDescription(await pc.createOffer())
    tryings = await asyncio.gather(*(
        caller.request({"type": "call.create", "destination": number, "sdp": pc.localDescription.sdp},
                       "call.trying", timeout_s=15) for caller, (pc, _tone) in zip(callers, media, strict=True)))
    calls = []
    for caller, (pc, tone), trying in zip(callers, media, tryings, strict=True):
        assert trying["type"] == "call.trying", trying
        call = ClientCall(caller, trying["call_id"], trying["uuid"], pc, tone)
        caller.calls.append(call)  # closed with its phone
        answer = await call.expect("sdp.answer", timeout_s=15)
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        calls.append(call)
    return calls


async def rings_or_ends(call: ClientCall) -> dict:
    """The call's first `call.ringing` or `call.ended`, whichever comes first."""
    waits = [asyncio.ensure_future(call.expect(kind, timeout_s=20)) for kind in ("call.ringing", "call.ended")]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in pending:
        wait.cancel()
    return next(iter(done)).result()


async def test_two_callers_on_two_processes_at_once_one_rings_the_other_hears_busy(
        two: LiveCluster, phone_on: PhoneOn) -> None:
    """An extension without call waiting, called at the same instant from both processes: its line
    is claimed in one Redis script, so in every round exactly one call rings (and is answered)
    and the other ends `busy`, whichever process it was placed on."""
    a, b = two[0], two[1]
    await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Extension; "
                                      "Extension.objects.filter(number='1004').update(call_waiting=False)")
    try:
        alice, carol, dave = await phone_on(a, "1001"), await phone_on(b, "1003"), await phone_on(b, "1004")
        busy_on: list[str] = []
        for _ in range(5):
            calls = await placed_at_once([alice, carol], "1004")
            outcomes = await asyncio.gather(*(rings_or_ends(call) for call in calls))
            assert sorted(o["type"] for o in outcomes) == ["call.ended", "call.ringing"], outcomes
            (winner, _), (loser, ended) = sorted(zip(calls, outcomes, strict=True),
                                                 key=lambda pair: pair[1]["type"] != "call.ringing")
            assert ended["reason"] == "busy", ended
            busy_on.append("a" if loser.client is alice else "b")
            incoming = await dave.expect("call.incoming", timeout_s=15)
            assert incoming["uuid"] == winner.uuid
            answered = await dave.answer(incoming, CALLEE_HZ)
            await winner.expect("call.answered", timeout_s=15)
            await answered.hangup()
            assert (await winner.expect("call.ended", timeout_s=10))["reason"] == "hangup"
            await answered.expect("call.ended", timeout_s=10)
            assert not [f for f in dave.inbox if f["type"] == "call.incoming"], dave.inbox  # the loser never rang
            record = await asyncio.to_thread(record_of, a if loser.client is alice else b,
                                             "1001" if loser.client is alice else "1003", loser.uuid)
            assert record is not None and record["end_reason"] == "busy", record
            # the winner's process gives the line back (its count, published): waited for, not a fixed 0.3 s
            await wait_until(lambda: live_calls_counted(two, "lines:*:1004") == 0, timeout_s=10)
    finally:
        await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Extension; "
                                          "Extension.objects.filter(number='1004').update(call_waiting=True)")
    print("busy on", busy_on)


async def test_three_callers_on_two_processes_at_once_ring_an_extension_with_call_waiting_up_to_its_limit(
        two: LiveCluster, phone_on: PhoneOn) -> None:
    """An extension with call waiting and a per-extension limit of 2, called at the same instant by
    three callers on two processes: its lines are claimed in one Redis script each, so in every
    round exactly two calls ring it and the third ends `busy`, whichever process it was placed on."""
    a, b = two[0], two[1]
    await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Tenant; "
                                      "Tenant.objects.filter(slug='demo').update(max_calls_per_extension=2)")
    try:
        seats = [(a, "1001"), (b, "1002"), (a, "1003")]  # where each caller's socket (and call) is
        callers = [await phone_on(server, number) for server, number in seats]
        dave = await phone_on(b, "1004")
        busy_on: list[str] = []
        for _ in range(5):
            calls = await placed_at_once(callers, "1004")
            outcomes = await asyncio.gather(*(rings_or_ends(call) for call in calls))
            assert sorted(o["type"] for o in outcomes) == ["call.ended", "call.ringing", "call.ringing"], outcomes
            lost = next(i for i, o in enumerate(outcomes) if o["type"] == "call.ended")
            assert outcomes[lost]["reason"] == "busy", outcomes[lost]
            busy_on.append(seats[lost][1])
            winners = {call.uuid: call for i, call in enumerate(calls) if i != lost}
            for _winner in range(2):
                incoming = await dave.expect("call.incoming", timeout_s=15)
                winner = winners.pop(incoming["uuid"])  # only a winner rings dave, and each once
                await winner.hangup()
                assert (await winner.expect("call.ended", timeout_s=10))["reason"] == "cancelled"
                await dave.expect("call.ended", timeout_s=10, call_id=incoming["call_id"])
            assert not [f for f in dave.inbox if f["type"] == "call.incoming"], dave.inbox  # the loser never rang
            record = await asyncio.to_thread(record_of, *seats[lost], calls[lost].uuid)
            assert record is not None and record["end_reason"] == "busy", record
            # the winners' processes give the lines back (their counts, published): waited for, not a fixed 0.3 s
            await wait_until(lambda: live_calls_counted(two, "lines:*:1004") == 0, timeout_s=10)
    finally:
        await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Tenant; "
                                          "Tenant.objects.filter(slug='demo').update(max_calls_per_extension=None)")
    print("busy on", busy_on)


async def test_the_tenant_limit_counts_the_calls_of_every_process(two: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = two[0], two[1]
    await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Tenant; "
                                      "Tenant.objects.filter(slug='demo').update(max_live_calls=1)")
    try:
        alice, bob = await phone_on(a, "1001"), await phone_on(b, "1002")
        music = await alice.call("*44", None)
        await music.expect("call.answered", timeout_s=10)
        refused = await bob.request({"type": "call.create", "destination": "*43", "sdp": "v=0"}, "call.trying")
        assert refused["type"] == "error" and refused["code"] == "capacity", refused
        assert "limit of 1 live calls" in refused["message"]
        await music.hangup()
        await music.expect("call.ended", timeout_s=10)
        # the slot is given back in Redis right after the call ends: waited for, not a fixed 1 s
        await wait_until(lambda: live_calls_counted(two, "quota:*") == 0, timeout_s=10)
        echo = await bob.call("*43", CALLER_HZ)
        await echo.expect("call.answered", timeout_s=10)
        await echo.hangup()
    finally:
        await asyncio.to_thread(shell, a, "from zorio_widget.tenants.models import Tenant; "
                                          "Tenant.objects.filter(slug='demo').update(max_live_calls=None)")


async def test_the_callee_reconnects_on_the_owner_and_the_caller_on_the_other_process(
        two: LiveCluster, phone_on: PhoneOn) -> None:
    a, b = two[0], two[1]
    alice, bob = await phone_on(a, "1001"), await phone_on(b, "1002")
    call, answered = await connected(alice, bob, "1002")

    await bob.ws.close()  # bob's socket on b drops; his peer connection (to a's media) goes on
    await asyncio.sleep(1.0)
    bob_again = await phone_on(a, "1002")  # ... and comes back on a, the call's owner
    assert [c["call_id"] for c in bob_again.registration["calls"]] == [answered.call_id]
    assert bob_again.registration["calls"][0]["state"] == "answered"
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ), 10)

    await alice.ws.close()  # now the caller's socket on a drops, and comes back on b
    await asyncio.sleep(1.0)
    alice_again = await phone_on(b, "1001")
    assert [c["call_id"] for c in alice_again.registration["calls"]] == [call.call_id]
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLEE_HZ), 10)
    await alice_again.send({"type": "call.hold", "call_id": call.call_id})  # forwarded from b to a
    assert (await bob_again.expect("call.held", timeout_s=10))["by"] == "remote"
    await alice_again.send({"type": "call.hangup", "call_id": call.call_id})
    assert (await alice_again.expect("call.ended", timeout_s=10, call_id=call.call_id))["reason"] == "hangup"
    assert (await bob_again.expect("call.ended", timeout_s=10, call_id=answered.call_id))["reason"] == "hangup"
