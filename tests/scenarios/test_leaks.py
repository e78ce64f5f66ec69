"""50 sequential scenario calls leave nothing behind.

- In-process (a switchboard of fakes, the real scenario layer): no task, no thread, no leg, no
  bridge record, no scenario run left after each call settles.
- Live (a Daphne process of our own, real aiortc callers): the server's UDP sockets and threads come
  back to what they were after the warm-up calls, and its RSS stays within a bound (as
  tests/calls/test_leaks.py measures bridged calls).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterator

import psutil
import pytest

from tests.calls.fakes import Phone, until
from tests.calls.test_leaks import RSS_BOUND_BYTES, server_resources, settled
from tests.live import LiveServer, start_live_server
from tests.scenarios.conftest import Ear
from tests.scenarios.live import add_route
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.client import PhoneClient
from zorio_widget.routes.models import Route

CALLS = 50
WARMUP_CALLS = 3
ORIGIN = "http://127.0.0.1:5173"


@pytest.mark.timeout(240)
async def test_fifty_scenario_calls_leak_no_task_or_thread_in_process(
        board: Switchboard, on_board: Callable[[str], Phone], route: Callable[..., Route]) -> None:
    await route("7300", "tests.scenarios.scripts:count_and_hang_up")
    alice = on_board("1001")

    async def one_call() -> None:
        a = await alice.dial("7300")
        ear = Ear(alice.media(a))
        await until(lambda: alice.ended(a) is not None, timeout_s=30)
        assert alice.ended(a) == "hangup"
        await ear.close()
        await until(lambda: not board.sessions and not board.legs, timeout_s=10)
        alice.device.frames.clear()

    for _ in range(WARMUP_CALLS):
        await one_call()
    await asyncio.sleep(0.5)
    tasks, threads = len(asyncio.all_tasks()), threading.active_count()
    for _ in range(CALLS):
        await one_call()
    await asyncio.sleep(0.5)
    # the last call's tasks and threads end a moment after it: waited for, not only the fixed 0.5 s
    await until(lambda: len(asyncio.all_tasks()) <= tasks and threading.active_count() <= threads, timeout_s=10)
    gc.collect()
    assert len(asyncio.all_tasks()) <= tasks, [t.get_name() for t in asyncio.all_tasks()]
    assert threading.active_count() <= threads
    assert board.bridge._legs == {} and board.bridge._relay.listeners == {}
    assert board.capacity.in_use == 0
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("scenario ")] == []


@pytest.fixture(scope="module")
def own_server() -> Iterator[LiveServer]:
    server = start_live_server()
    add_route(server, "7300", "tests.scenarios.scripts:count_and_hang_up")
    yield server
    server.stop()


@pytest.mark.live
@pytest.mark.timeout(400)
async def test_fifty_sequential_live_scenario_calls_leak_no_sockets_threads_or_memory(own_server: LiveServer) -> None:
    proc = psutil.Process(own_server.process.pid)
    alice = await PhoneClient.connect(own_server.ws_url, own_server.token("1001"), origin=ORIGIN)

    async def one_call() -> None:
        call = await alice.call("7300", 440.0)
        await call.expect("call.answered", timeout_s=10)
        assert (await call.expect("call.ended", timeout_s=20))["reason"] == "hangup"
        await call.close()
        alice.calls.remove(call)
        alice.inbox.clear()

    try:
        await alice.registered()
        for _ in range(WARMUP_CALLS):
            await one_call()
        idle_udp, idle_threads, _ = server_resources(proc)
        base = await settled(proc, idle_udp, idle_threads)
        for i in range(CALLS):
            await one_call()
            if i == CALLS // 2:
                middle = await settled(proc, base[0], base[1])
                assert middle[:2] == base[:2], f"after {i + 1} calls (udp, threads) {middle[:2]} vs {base[:2]}"
        after = await settled(proc, base[0], base[1])
    finally:
        await alice.close()
    assert after[0] == base[0], f"server UDP sockets {base[0]} -> {after[0]} over {CALLS} calls"
    assert after[1] <= base[1], f"server threads {base[1]} -> {after[1]} over {CALLS} calls"
    assert after[2] - base[2] < RSS_BOUND_BYTES, f"server RSS grew {(after[2] - base[2]) / 2**20:.1f} MiB"
