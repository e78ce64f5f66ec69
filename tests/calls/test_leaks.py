"""Nothing accumulates call after call.

- Live: 50 sequential bridged calls 1001 -> 1002 through a Daphne process of our own (so we know
  its pid); the server's UDP sockets and threads must come back to what they were after the
  warm-up calls, and its RSS must stay within a bound.
- In-process (tasks, sockets, threads, RSS over 50 bridged leg pairs without a server):
  tests/media/test_leg.py::test_fifty_sequential_bridged_calls_leak_nothing.
"""

import asyncio
import time
from collections.abc import Iterator

import psutil
import pytest

from tests.live import LiveServer, start_live_server
from zorio_widget.client import PhoneClient

ORIGIN = "http://127.0.0.1:5173"
CALLS = 50
WARMUP_CALLS = 3
RSS_BOUND_BYTES = 15 * 2**20


@pytest.fixture(scope="module")
def own_server() -> Iterator[LiveServer]:
    server = start_live_server()
    yield server
    server.stop()


def server_resources(proc: psutil.Process) -> tuple[int, int, int]:
    """(UDP sockets, threads, RSS bytes) of the server process."""
    return len(proc.net_connections(kind="udp")), proc.num_threads(), proc.memory_info().rss


async def settled(proc: psutil.Process, udp: int, threads: int, within_s: float = 15.0) -> tuple[int, int, int]:
    """The server's resources once they are back to (udp, threads), or as they are after `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        now = server_resources(proc)
        if (now[0] <= udp and now[1] <= threads) or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.2)


async def one_call(alice: PhoneClient, bob: PhoneClient) -> None:
    call = await alice.call("1002", 440.0)
    incoming = await bob.expect("call.incoming")
    answered = await bob.answer(incoming, 880.0)
    await call.expect("call.answered")
    await answered.expect("call.answered")
    await asyncio.sleep(0.3)  # audio both ways
    assert call.probe is not None and answered.probe is not None
    assert await call.probe.wait_for(lambda p: p.frames_received > 5, 5)
    assert await answered.probe.wait_for(lambda p: p.frames_received > 5, 5)
    await call.hangup()
    assert (await call.expect("call.ended"))["reason"] == "hangup"
    assert (await answered.expect("call.ended"))["reason"] == "hangup"
    for client, c in ((alice, call), (bob, answered)):
        await c.close()
        client.calls.remove(c)
    # Frames not consumed by expect() (ice.candidate, ringing) would otherwise pile up client-side.
    alice.inbox.clear()
    bob.inbox.clear()


async def music_call(alice: PhoneClient) -> None:
    """`*44`: makes the server encode a clip in asyncio's default executor, whose thread then stays."""
    call = await alice.call("*44", None)
    await call.expect("call.answered")
    assert call.probe is not None and await call.probe.wait_for(lambda p: p.frames_received > 5, 5)
    await call.hangup()
    await call.expect("call.ended")
    await call.close()
    alice.calls.remove(call)
    alice.inbox.clear()


@pytest.mark.live
@pytest.mark.timeout(300)
async def test_fifty_sequential_live_calls_leak_no_sockets_threads_or_memory(own_server: LiveServer) -> None:
    proc = psutil.Process(own_server.process.pid)
    alice = await PhoneClient.connect(own_server.ws_url, own_server.token("1001"), origin=ORIGIN)
    bob = await PhoneClient.connect(own_server.ws_url, own_server.token("1002"), origin=ORIGIN)
    try:
        await alice.registered()
        await bob.registered()
        # Warm-up: lazy imports, clips, DB connections, and the thread pools that grow on first use
        # (asyncio's default executor encodes clips; it is bounded, and created by the first use).
        await music_call(alice)
        for _ in range(WARMUP_CALLS):
            await one_call(alice, bob)
        idle_udp, idle_threads, _ = server_resources(proc)
        base = await settled(proc, idle_udp, idle_threads)
        for i in range(CALLS):
            await one_call(alice, bob)
            if i == CALLS // 2:
                middle = await settled(proc, base[0], base[1])
                assert middle[:2] == base[:2], f"after {i + 1} calls (udp, threads) {middle[:2]} vs {base[:2]}"
        after = await settled(proc, base[0], base[1])
    finally:
        await alice.close()
        await bob.close()
    assert after[0] == base[0], f"server UDP sockets {base[0]} -> {after[0]} over {CALLS} calls"
    assert after[1] <= base[1], f"server threads {base[1]} -> {after[1]} over {CALLS} calls"
    grown = after[2] - base[2]
    assert grown < RSS_BOUND_BYTES, f"server RSS grew {grown / 2**20:.1f} MiB over {CALLS} calls"
