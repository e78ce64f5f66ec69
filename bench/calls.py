"""Concurrent bridged calls through a live server: setup time, delivery, jitter, latency, CPU, memory.

Run: `python -m bench.calls --calls N --seconds S` (results of this machine: bench/RESULTS.md).
Several server processes of one cluster: `--processes P` (tests.live.start_cluster: one fresh
PostgreSQL database, one Redis prefix) with `--layout cross` (each call's caller on one process,
its callee on the next: every call crosses processes, its media on the caller's), `same` (both
parties on one process, the calls spread over the processes) or `first` (every socket on the
first process: with `--max-calls-per-process` below N, the calls it cannot take are placed on the
others); the server figures are then the sum over the processes.

What runs where
- The server is a real Daphne process (`tests.live.start_live_server`: fresh SQLite DB, seeded
  with 2N load extensions, `MAX_CALLS_PER_PROCESS` and `MAX_CALLS_PER_TENANT` above N: every
  load call is the demo tenant's, and the tenant's cap of 60 would otherwise be what is measured). It is measured with psutil by pid.
- The load runs in `--workers` other processes (multiprocessing, spawn). Each owns a share of the
  calls, caller and callee of a call in the same process: two `PhoneClient` WebSockets and two
  aiortc peers per call. The peers are light (`bench.loadclient`): they send pre-encoded Opus
  from `zorio_widget.media.clips` as `av.Packet`s and count received packets with the receive tap
  (`aiortc_hook.set_packet_sink`); no client ever encodes or decodes audio.

Phases: warm-up (one call 1001 -> 1002 in its own load process, so lazy imports, clip encoding
and the first DB writes are out of the numbers; then the baseline RSS) -> connect all clients ->
place the N calls at `--rate` calls/s in total (the callee answers as soon as `call.incoming`
arrives) -> `--warmup` seconds for media to settle -> the steady-state window of `--seconds` ->
hang up every call, close every client -> `--settle` seconds -> RSS after.

Metrics
- Setup latency: `call.create` sent -> `call.answered` received by the caller (server work for
  two legs: SDP, ICE gathering, DB record, ringing the callee, the callee's answer).
- Delivery: of the packets each client sent during the window, the fraction its peer received
  (each packet carries a unique stamp, so duplicates, strays and cross-talk are told apart).
- Gap p99: inter-arrival time of consecutive packets at each receiving client, pooled over all
  legs. 20 ms is perfect; the client's own send gaps are printed too, to show whether the
  clients were the bottleneck.
- Bridge-added latency, one way. Every packet carries its send time (CLOCK_MONOTONIC, stamped
  when the sender's track hands it to aiortc); the receiving client's tap records its arrival on
  the same clock (caller and callee live in the same process). That one-way time includes the
  clients' own aiortc send and receive paths and their event-loop delays, which are not the
  bridge's. So every load process also runs one DIRECT client-to-client pair (no server, same
  light peers, same process, same load, same window) and the bridge-added latency is reported as
  bridged percentile minus direct percentile (p50 and p95). This is the extra UDP hop plus the
  server's receive path, relay and send path, including its scheduling delays under load. It is
  a difference of distributions, not a per-packet difference (a packet cannot take both paths).
- Server CPU: psutil user+system time of the server pid over the window / wall time, per call.
  A starved server (the machine busy, packets piling up in socket buffers) spends little CPU
  because it relays little, so the cost is also printed per relayed packet and scaled to a call
  at full rate (2 x 50 packets/s); both must meet the target.
- The load processes' CPU, the CPU used by OTHER processes on the machine during the window and
  the load average are printed: on a shared 2-core machine they decide whether the numbers
  describe the server or the machine. At 120 calls the light clients alone need about as much
  CPU as the server, so on 2 cores the clients must run elsewhere for the 120-call target to be
  measured fairly.
- Server RSS: baseline after the warm-up call; during the window (minus baseline) per call; and
  after all calls closed (the target: within 10% of the baseline). UDP sockets and threads of
  the server are printed next to it (they must return to the baseline).
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing as mp
import os
import pickle
import platform
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.loadclient import WorkerResult, WorkerSpec, run_worker
from tests.live import LiveServer, start_cluster, start_live_server

TARGET_DELIVERY = 99.5
TARGET_GAP_P99_MS = 40.0
TARGET_CPU_PER_CALL = 0.7
TARGET_ADDED_P95_MS = 5.0
TARGET_SETUP_P50_MS = 150.0
TARGET_RSS_RETURN = 0.10
TARGET_CALLS = 120


@dataclass
class ServerSample:
    cpu_s: float
    system_s: float
    rss: int
    threads: int
    udp: int
    at: float


def memory_map(pid: int) -> Counter[str]:
    """Resident KiB of a process by mapping kind: the main heap, anonymous mappings (thread
    arenas, stacks, large allocations) and each file (``--smaps``)."""
    kinds: Counter[str] = Counter()
    current = "?"
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if fields and "-" in fields[0] and len(fields) >= 5 and ":" not in fields[0]:
                current = fields[5] if len(fields) > 5 else "[anonymous]"
            elif fields and fields[0] == "Rss:":
                kinds[current] += int(fields[1])
    return kinds


def print_memory_growth(before: Counter[str], after: Counter[str]) -> None:
    growth = Counter({kind: after[kind] - before[kind] for kind in set(before) | set(after)})
    for kind, kib in growth.most_common(6):
        if kib:
            print(f"  grew                       {kib / 1024:+7.1f} MiB  {kind}")


class ProcessGroup:
    """The server processes of a run, read as one (CPU, memory, threads and sockets summed)."""

    def __init__(self, pids: list[int]) -> None:
        self.members = [psutil.Process(pid) for pid in pids]
        self.pid = pids[0]  # py-spy and --smaps look at the first one

    def cpu_times(self) -> Any:
        times = [m.cpu_times() for m in self.members]
        return type("Times", (), {"user": sum(t.user for t in times), "system": sum(t.system for t in times)})()

    def memory_info(self) -> Any:
        return type("Memory", (), {"rss": sum(m.memory_info().rss for m in self.members)})()

    def num_threads(self) -> int:
        return sum(m.num_threads() for m in self.members)

    def net_connections(self, kind: str) -> list[Any]:
        return [c for m in self.members for c in m.net_connections(kind=kind)]

    def cpu_each(self) -> list[float]:
        return [sum(m.cpu_times()[:2]) for m in self.members]


def sample(proc: psutil.Process | ProcessGroup) -> ServerSample:
    times = proc.cpu_times()
    return ServerSample(times.user + times.system, times.system, proc.memory_info().rss, proc.num_threads(),
                        len(proc.net_connections(kind="udp")), time.monotonic())


class LoadProcesses:
    """The load processes and the phase protocol spoken with them over pipes."""

    def __init__(self, specs: list[Any], target: Any = run_worker) -> None:
        """`target(conn, spec)`: the body of each load process (`bench.trunkload` has its own)."""
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for spec in specs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=target, args=(child, spec), name=f"bench-load-{spec.index}", daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def expect(self, what: str, timeout_s: float = 300.0) -> list[tuple[Any, ...]]:
        replies = []
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if not pipe.poll(timeout_s):
                raise RuntimeError(f"{proc.name}: no '{what}' within {timeout_s}s")
            msg = pipe.recv()
            if msg[0] != what:
                raise RuntimeError(f"{proc.name}: expected '{what}', got {msg!r}"[:2000])
            replies.append(msg)
        return replies

    def send(self, *msg: Any) -> None:
        for pipe in self.pipes:
            pipe.send(msg)

    def join(self) -> None:
        for proc in self.procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()


def spy_on(pid: int, seconds: float, path: str) -> subprocess.Popen[bytes]:
    """py-spy (not a requirement: `pip install py-spy`) sampling `pid`, collapsed stacks to `path`."""
    return subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(pid), "-d",
                             str(int(seconds)), "-r", "200", "-f", "raw", "-o", path, "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def drive(specs: list[WorkerSpec], server: ProcessGroup, warmup_s: float, seconds: float,
          grace_s: float = 1.5, profile: str | None = None) -> dict[str, Any]:
    """Runs the phases with these load processes; returns the raw measurements."""
    load = LoadProcesses(specs)
    try:
        pids = [msg[1] for msg in load.expect("ready")]
        setup_spy = spy_on(server.pid, 600, f"{profile}.setup") if profile else None
        setup_start = sample(server)
        load.send("go")
        established = sum(msg[1] for msg in load.expect("answered"))
        setup_end = sample(server)
        if setup_spy is not None:
            setup_spy.send_signal(signal.SIGINT)
            setup_spy.wait(30)
        t0 = time.monotonic() + warmup_s
        t0_ns = time.monotonic_ns() + int(warmup_s * 1e9)
        t1_ns = t0_ns + int(seconds * 1e9)
        load.send("window", t0_ns, t1_ns, grace_s)
        clients = [psutil.Process(pid) for pid in pids]
        time.sleep(max(0.0, t0 - time.monotonic()))
        start, client_start, each_start = sample(server), [sum(c.cpu_times()[:2]) for c in clients], server.cpu_each()
        machine_start = psutil.cpu_times()
        spy = spy_on(server.pid, seconds, profile) if profile else None
        peak_rss = start.rss
        while time.monotonic() < t0 + seconds:
            time.sleep(min(1.0, t0 + seconds - time.monotonic()))
            peak_rss = max(peak_rss, server.memory_info().rss)
        end, client_end, each_end = sample(server), [sum(c.cpu_times()[:2]) for c in clients], server.cpu_each()
        machine_end = psutil.cpu_times()
        load.expect("measured")
        if spy is not None:
            spy.wait(30)
        load.send("hangup")
        results: list[WorkerResult] = [msg[1] for msg in load.expect("closed")]
    finally:
        load.join()
    wall = end.at - start.at
    busy = [sum(getattr(b, f) - getattr(a, f) for f in ("user", "nice", "system", "irq", "softirq", "steal"))
            for a, b in ((machine_start, machine_end),)][0]
    ours = (end.cpu_s - start.cpu_s) + sum(b - a for a, b in zip(client_start, client_end, strict=True))
    return {
        "others_pct": 100 * (busy - ours) / wall,
        "established": established,
        "setup_cpu_s": setup_end.cpu_s - setup_start.cpu_s,
        "setup_wall_s": setup_end.at - setup_start.at,
        "results": results,
        "cpu_pct": 100 * (end.cpu_s - start.cpu_s) / wall,
        "client_cpu_pct": [100 * (b - a) / wall for a, b in zip(client_start, client_end, strict=True)],
        "server_cpu_pct_each": [100 * (b - a) / wall for a, b in zip(each_start, each_end, strict=True)],
        "window": (start, end),
        "peak_rss": peak_rss,
    }


def pct(values: list[np.ndarray], q: float) -> float:
    flat = np.concatenate(values) if values else np.zeros(0)
    return float(np.percentile(flat, q)) if flat.size else float("nan")


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="concurrent bridged calls (N)")
    parser.add_argument("--seconds", type=float, default=20.0, help="steady-state window")
    parser.add_argument("--workers", type=int, default=2, help="load processes")
    parser.add_argument("--rate", type=float, default=20.0, help="calls placed per second, all workers together")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds between the last answer and the window")
    parser.add_argument("--profile", metavar="FILE", help="py-spy the server during the window (collapsed stacks)")
    parser.add_argument("--dump", metavar="FILE", help="pickle the raw per-flow measurements here")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the whole run on the same server (RSS after each round tells a leak from a high-water mark)")
    parser.add_argument("--smaps", action="store_true", help="print which mappings of the server grew (baseline -> after)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the last hang-up before RSS after")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of the server (e.g. PYTHONMALLOC=pymalloc to compare allocators)")
    parser.add_argument("--processes", type=int, default=1, help="server processes of one cluster (PostgreSQL + Redis)")
    parser.add_argument("--layout", choices=["cross", "same", "first"], default="cross",
                        help="with --processes > 1: where each call's two parties connect (see the module's doc)")
    parser.add_argument("--max-calls-per-process", type=int, default=0, metavar="M",
                        help="MAX_CALLS_PER_PROCESS of each server (default: above N)")
    args = parser.parse_args(argv)
    n = args.calls
    workers = max(1, min(args.workers, n))

    print(f"bench.calls: N={n} calls, {args.seconds:g} s window, {workers} load processes, "
          f"{psutil.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
          f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    server_env = dict(item.split("=", 1) for item in args.server_env)
    if server_env:
        print(f"server environment: {server_env}", flush=True)
    env = {"MAX_CALLS_PER_PROCESS": str(args.max_calls_per_process or max(150, n + 10)),
           "MAX_CALLS_PER_TENANT": str(max(150, n + 10)), **server_env}
    if args.processes > 1:
        cluster = start_cluster(args.processes, env, seed_extensions=2 * n)
        print(f"cluster of {args.processes} server processes, layout {args.layout}, "
              f"MAX_CALLS_PER_PROCESS={env['MAX_CALLS_PER_PROCESS']}", flush=True)
        try:
            return run(cluster.servers, args, n, workers)
        finally:
            cluster.stop()
    server = start_live_server(env, seed_extensions=2 * n)
    try:
        return run([server], args, n, workers)
    finally:
        server.stop()


def placement(servers: list[LiveServer], layout: str, worker: int) -> tuple[LiveServer, LiveServer]:
    """The servers a worker's callers and callees connect to."""
    if len(servers) == 1 or layout == "first":
        return servers[0], servers[0]
    caller = servers[worker % len(servers)]
    return caller, servers[(worker + 1) % len(servers)] if layout == "cross" else caller


def run(servers: list[LiveServer], args: argparse.Namespace, n: int, workers: int) -> int:
    server = servers[0]
    proc = ProcessGroup([s.process.pid for s in servers])
    cold = sample(proc)

    for each in servers:  # every process warm (imports, clips, first DB writes), and a crossing call
        other = servers[(servers.index(each) + 1) % len(servers)]
        for callee_on in {each.ws_url, other.ws_url}:
            warm = drive([WorkerSpec(0, each.ws_url, [("1001", each.token("1001"), "1002", each.token("1002"))],
                                     call_rate_per_s=0, direct_pair=False, callee_ws_urls=[callee_on])],
                         proc, warmup_s=0.5, seconds=1.0)
            if warm["results"][0].failures:
                print("warm-up call failed:", warm["results"][0].failures, file=sys.stderr)
                print(each.log()[-3000:], file=sys.stderr)
                return 2
    time.sleep(args.settle)
    idle_from = sample(proc)
    time.sleep(3.0)
    base = sample(proc)
    base_map = memory_map(proc.pid) if args.smaps else Counter()
    idle_pct = 100 * (base.cpu_s - idle_from.cpu_s) / (base.at - idle_from.at)

    exts = [str(2000 + i) for i in range(2 * n)]
    pairs = [(exts[2 * i], server.token(exts[2 * i]), exts[2 * i + 1], server.token(exts[2 * i + 1])) for i in range(n)]
    specs = []
    for w in range(workers):
        caller_on, callee_on = placement(servers, args.layout, w)
        specs.append(WorkerSpec(w, caller_on.ws_url, pairs[w::workers], call_rate_per_s=args.rate / workers,
                                callee_ws_urls=[callee_on.ws_url] * len(pairs[w::workers])))
    after_rounds: list[int] = []
    for _round in range(args.rounds):
        run_ = drive(specs, proc, warmup_s=args.warmup, seconds=args.seconds, profile=args.profile)
        time.sleep(args.settle)
        after = sample(proc)
        after_rounds.append(after.rss)
    if args.smaps:
        print_memory_growth(base_map, memory_map(proc.pid))
    start, end = run_["window"]
    results: list[WorkerResult] = run_["results"]

    if args.dump:
        with open(args.dump, "wb") as out:
            pickle.dump(results, out)
    setup = np.array([ms for r in results for ms in r.setup_ms])
    failures = [f for r in results for f in r.failures]
    sent, received = sum(sum(r.sent) for r in results), sum(sum(r.received) for r in results)
    per_flow = [rc / s * 100 for r in results for s, rc in zip(r.sent, r.received, strict=True) if s]
    delivery = 100 * received / sent if sent else 0.0
    gaps = [g for r in results for g in r.gap_ms]
    send_gaps = [g for r in results for g in r.send_gap_ms]
    lat = [x for r in results for x in r.latency_ms]
    direct_lat = [x for r in results for x in r.direct_latency_ms]
    direct_gaps = [x for r in results for x in r.direct_gap_ms]
    d_sent, d_recv = sum(r.direct_sent for r in results), sum(r.direct_received for r in results)
    added50 = pct(lat, 50) - pct(direct_lat, 50)
    added95 = pct(lat, 95) - pct(direct_lat, 95)
    cpu_per_call = run_["cpu_pct"] / n
    rss_per_call = (end.rss - base.rss) / n
    rss_return = (after.rss - base.rss) / base.rss
    gap99 = pct(gaps, 99)
    mib = 2**20

    print()
    print(f"calls established            {run_['established']}/{n}"
          + (f"   failures: {failures[:3]}" if failures else ""))
    if n == 1:
        setup_note = f"[target p50 <= {TARGET_SETUP_P50_MS:g} ms for one call: {verdict(setup[0] <= TARGET_SETUP_P50_MS)}]" \
            if setup.size else "[MISS]"
    else:
        setup_note = f"[{n} calls placed at {args.rate:g}/s; the {TARGET_SETUP_P50_MS:g} ms target is for one call]"
    if setup.size:
        print(f"setup create->answered       p50 {np.percentile(setup, 50):6.1f} ms   p95 {np.percentile(setup, 95):6.1f} ms"
              f"   max {setup.max():6.1f} ms   {setup_note}")
    if run_["established"]:
        print(f"  server CPU in set-up       {1000 * run_['setup_cpu_s'] / run_['established']:6.1f} ms per call"
              f"   ({run_['setup_cpu_s']:.2f} s over the {run_['setup_wall_s']:.2f} s from the first create to the last answer)")
    print(f"packets delivered            {received}/{sent} = {delivery:.3f}%   worst flow {min(per_flow, default=0):.2f}%"
          f"   [target >= {TARGET_DELIVERY}%: {verdict(delivery >= TARGET_DELIVERY and run_['established'] == n)}]")
    print(f"inter-arrival gap            p50 {pct(gaps, 50):5.1f} ms   p99 {gap99:5.1f} ms   max {pct(gaps, 100):6.1f} ms"
          f"   [target p99 <= {TARGET_GAP_P99_MS:g} ms: {verdict(gap99 <= TARGET_GAP_P99_MS)}]")
    print(f"  clients' own send gap      p99 {pct(send_gaps, 99):5.1f} ms   late skips {sum(r.late_skips for r in results)}"
          f"   direct-pair arrival gap p99 {pct(direct_gaps, 99):5.1f} ms")
    print(f"one-way latency, bridged     p50 {pct(lat, 50):5.2f} ms   p95 {pct(lat, 95):5.2f} ms   p99 {pct(lat, 99):6.2f} ms")
    print(f"one-way latency, direct      p50 {pct(direct_lat, 50):5.2f} ms   p95 {pct(direct_lat, 95):5.2f} ms"
          f"   p99 {pct(direct_lat, 99):6.2f} ms   ({d_recv}/{d_sent} packets)")
    print(f"bridge-added latency         p50 {added50:5.2f} ms   p95 {added95:5.2f} ms"
          f"   [target p95 <= {TARGET_ADDED_P95_MS:g} ms: {verdict(added95 <= TARGET_ADDED_P95_MS)}]")
    if len(servers) > 1:
        print("  server processes' CPU      " + " + ".join(f"{c:.0f}%" for c in run_["server_cpu_pct_each"])
              + " (summed below)")
    print(f"server CPU                   {run_['cpu_pct']:.1f}% of a core = {cpu_per_call:.3f}% per call"
          f"   [target <= {TARGET_CPU_PER_CALL}%: {verdict(cpu_per_call <= TARGET_CPU_PER_CALL)}]")
    relayed_per_s = received / args.seconds
    us_per_packet = (end.cpu_s - start.cpu_s) / max(1, received) * 1e6
    full_rate = us_per_packet * 100 / 1e4  # % of a core for one call relaying 2 x 50 packets/s
    print(f"  per relayed packet         {us_per_packet:.0f} us of server CPU ({relayed_per_s:.0f} packets/s relayed)"
          f" = {full_rate:.2f}% per call at full rate   [target: {verdict(full_rate <= TARGET_CPU_PER_CALL)}]")
    system_share = (end.system_s - start.system_s) / max(1e-9, end.cpu_s - start.cpu_s)
    print(f"  of which in the kernel     {100 * system_share:.0f}% (UDP send/receive syscalls, loopback"
          " delivery and the wake-ups of the load processes are charged to the server)")
    print(f"  idle server (no calls)     {idle_pct:.1f}%; above idle {(run_['cpu_pct'] - idle_pct) / n:.3f}% per call")
    print("  load processes CPU         " + " ".join(f"{c:.0f}%" for c in run_["client_cpu_pct"])
          + f"   other processes on the machine {run_['others_pct']:.0f}% (of {100 * psutil.cpu_count()}%)"
          + f"   load avg {os.getloadavg()[0]:.1f}")
    print(f"server RSS                   cold {cold.rss / mib:.1f} MiB, baseline {base.rss / mib:.1f} MiB, "
          f"in calls {end.rss / mib:.1f} MiB (peak {run_['peak_rss'] / mib:.1f}) = {rss_per_call / mib:.2f} MiB per call")
    print(f"server RSS after close       {after.rss / mib:.1f} MiB = {100 * rss_return:+.1f}% vs baseline"
          f"   [target within {100 * TARGET_RSS_RETURN:.0f}%: {verdict(abs(rss_return) <= TARGET_RSS_RETURN)}]")
    if args.rounds > 1:
        print("  RSS after each round       " + ", ".join(f"{r / mib:.1f}" for r in after_rounds) + " MiB")
    print(f"server UDP sockets/threads   baseline {base.udp}/{base.threads}, in calls {end.udp}/{end.threads}, "
          f"after {after.udp}/{after.threads}")
    misrouted = sum(r.misrouted for r in results)
    teardown = [f for r in results for f in r.teardown_failures]
    if misrouted or teardown:
        print(f"PROBLEMS: misrouted packets {misrouted}; teardown failures {teardown[:3]}")
    if n < TARGET_CALLS:
        print(f"(the concurrency target is {TARGET_CALLS} calls; this run had {n})")
    print(f"server pid {proc.pid}, log {server.log_path}; load pids {os.getpid()} -> workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
