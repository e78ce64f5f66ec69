"""What one call costs the cluster's Redis (commands, channel-layer messages) and its setup time.

Run: `python -m bench.cluster_cost [--calls K] [--setup K]` (results: bench/RESULTS.md, docs/CLUSTER.md).

Two real server processes of one cluster (tests.live.start_cluster). A `MONITOR` connection
records every command Redis runs on the cluster's prefix (its keys, its channel-layer lists and
the scripts naming them; other users of the same Redis are left out), first while the cluster
idles (heartbeats, the channel layer's blocking reads), then during K calls placed one after the
other, each answered, carried for 2 s and hung up: (a) caller and callee on different processes,
(b) both on one process; and (c) the same two sockets registering and closing without a call,
which (a) and (b) include. Per call = (commands during the calls - the idle rate x their
duration) / K.
Channel-layer messages are counted as the ZCOUNTs on channel keys (channels_redis sends each
message with ZREMRANGEBYSCORE, ZCOUNT, ZADD, EXPIRE and reads it with a BZPOPMIN).

`--setup K`: the setup time of single calls (`call.create` sent -> `call.answered` received by the
caller; real aiortc clients, the callee answering as soon as `call.incoming` arrives), K calls
each, interleaved one by one so that a busy machine weighs on every kind alike: a process alone
(the in-memory channel layer, as `make run`), both parties on one process of the cluster, and
the parties on two processes.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import redis

from tests.live import LiveCluster, LiveServer, start_cluster, start_live_server
from zorio_widget.client import PhoneClient

TALK_S = 2.0
ORIGIN = "http://127.0.0.1:5173"
CALLER_HZ, CALLEE_HZ = 440.0, 880.0
_COMMAND = re.compile(r'^[\d.]+ \[\d+ [^\]]+\] "(\w+)"(.*)$')


class Monitor:
    """Counts the commands Redis runs that name the cluster's prefix (by command, and by kind)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.counts: Counter[str] = Counter()
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            for entry in monitor.listen():
                if self._stop.is_set():
                    return
                command = str(entry.get("command", ""))
                if self.prefix not in command:
                    continue
                name = command.split(" ", 1)[0].upper()
                if f"{self.prefix}:cluster" in command:
                    kind = "cluster"
                elif f"{self.prefix}:1:" in command:
                    kind = "cache"  # Django's cache: the API-key throttle of the bench's token requests
                else:
                    kind = "channel layer"
                self.counts[f"{kind} {name}"] += 1
                self.bytes += len(command)

    def snapshot(self) -> tuple[Counter[str], int]:
        return Counter(self.counts), self.bytes

    def stop(self) -> None:
        self._stop.set()


async def sockets_only(caller_on: LiveServer, callee_on: LiveServer) -> None:
    """The two sockets register and close, no call: what `one_call` costs before its call."""
    alice = await PhoneClient.connect(caller_on.ws_url, caller_on.token("1001"), origin=ORIGIN)
    bob = await PhoneClient.connect(callee_on.ws_url, callee_on.token("1002"), origin=ORIGIN)
    await alice.registered()
    await bob.registered()
    await asyncio.sleep(TALK_S)
    await alice.close()
    await bob.close()


async def timed_call(caller_on: LiveServer, callee_on: LiveServer) -> float:
    """Milliseconds from `call.create` to `call.answered` at the caller (sockets registered before)."""
    alice = await PhoneClient.connect(caller_on.ws_url, caller_on.token("1001"), origin=ORIGIN)
    bob = await PhoneClient.connect(callee_on.ws_url, callee_on.token("1002"), origin=ORIGIN)
    await alice.registered()
    await bob.registered()

    async def callee() -> None:
        await bob.answer(await bob.expect("call.incoming", timeout_s=15), CALLEE_HZ)

    answering = asyncio.create_task(callee())
    started = time.monotonic()
    call = await alice.call("1002", CALLER_HZ)
    await call.expect("call.answered", timeout_s=15)
    took = (time.monotonic() - started) * 1000
    await answering
    await call.hangup()
    await call.expect("call.ended", timeout_s=10)
    await alice.close()
    await bob.close()
    return took


def setup_times(calls: int, alone: LiveServer, cluster: LiveCluster) -> None:
    kinds = {"a process alone (in-memory layer)": (alone, alone), "one process of the cluster": (cluster[0], cluster[0]),
             "parties on two processes": (cluster[0], cluster[1])}
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(calls):
        for kind, (caller_on, callee_on) in kinds.items():
            times[kind].append(asyncio.run(timed_call(caller_on, callee_on)))
    base = sorted(times["a process alone (in-memory layer)"])
    print(f"\nsetup call.create -> call.answered, {calls} single calls each, interleaved:")
    for kind, values in times.items():
        ordered = sorted(values)
        p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"  {kind:36s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({p50 / base[len(base) // 2]:.2f}x / "
              f"{p95 / base[min(len(base) - 1, int(0.95 * len(base)))]:.2f}x the process alone)")


async def one_call(caller_on: LiveServer, callee_on: LiveServer) -> None:
    alice = await PhoneClient.connect(caller_on.ws_url, caller_on.token("1001"), origin=ORIGIN)
    bob = await PhoneClient.connect(callee_on.ws_url, callee_on.token("1002"), origin=ORIGIN)
    await alice.registered()
    await bob.registered()
    call = await alice.call("1002", CALLER_HZ)
    answered = await bob.answer(await bob.expect("call.incoming", timeout_s=15), CALLEE_HZ)
    await call.expect("call.answered", timeout_s=15)
    await asyncio.sleep(TALK_S)
    await answered.hangup()
    await call.expect("call.ended", timeout_s=10)
    await alice.close()
    await bob.close()


def measure(monitor: Monitor, label: str, calls: int, caller_on: LiveServer, callee_on: LiveServer,
            idle_rate: dict[str, float], work: object = one_call) -> None:
    before, bytes_before = monitor.snapshot()
    started = time.monotonic()
    for _ in range(calls):
        asyncio.run(work(caller_on, callee_on))  # type: ignore[operator]
    time.sleep(1.0)  # the last writes (slot given back, busy counts) land
    elapsed = time.monotonic() - started
    after, bytes_after = monitor.snapshot()
    per_call = {k: (after[k] - before[k] - idle_rate.get(k, 0.0) * elapsed) / calls for k in set(after) | set(before)}
    print(f"\n{label}: {calls} times in {elapsed:.1f} s")
    total = 0.0
    for kind in ("cluster", "channel layer", "cache"):
        rows = sorted(((k, v) for k, v in per_call.items() if k.startswith(kind) and v >= 0.05), key=lambda kv: -kv[1])
        subtotal = sum(v for _k, v in rows)
        total += subtotal
        print(f"  {kind:14s} {subtotal:6.1f} commands per call: " + ", ".join(f"{k.split(' ')[-1]} {v:.1f}" for k, v in rows))
    messages = per_call.get("channel layer ZCOUNT", 0.0)  # one per message sent
    print(f"  total          {total:6.1f} commands per call; channel-layer messages {messages:.1f} per call; "
          f"{(bytes_after - bytes_before) / calls / 1024:.1f} KiB of commands per call (idle included)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    parser.add_argument("--setup", type=int, default=0, metavar="K", help="also time K single calls of each kind")
    args = parser.parse_args(argv)
    cluster: LiveCluster = start_cluster(2)
    if args.setup:
        database = Path(tempfile.mkdtemp(prefix="zorio-alone-")) / "db.sqlite3"
        alone = start_live_server({"REDIS_URL": "", "DATABASE_URL": f"sqlite:///{database}"})
        try:
            setup_times(args.setup, alone, cluster)
        finally:
            alone.stop()
    monitor = Monitor(cluster.redis_url, cluster.prefix)
    try:
        time.sleep(1.0)
        before, _ = monitor.snapshot()
        time.sleep(args.idle)
        after, _ = monitor.snapshot()
        idle_rate = {k: (after[k] - before[k]) / args.idle for k in after}
        print(f"idle cluster of 2 processes: {sum(idle_rate.values()):.1f} commands/s: "
              + ", ".join(f"{k} {v:.2f}/s" for k, v in sorted(idle_rate.items(), key=lambda kv: -kv[1])))
        measure(monitor, f"two sockets on different processes register, wait {TALK_S:g} s, close (no call)", args.calls, cluster[0], cluster[1], idle_rate,
                sockets_only)
        measure(monitor, f"the same, with a call between them on different processes (ring, answer, {TALK_S:g} s, "
                "hang up)", args.calls, cluster[0], cluster[1], idle_rate)
        measure(monitor, "the same call, both sockets on one process", args.calls, cluster[0], cluster[0], idle_rate)
    finally:
        monitor.stop()
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
