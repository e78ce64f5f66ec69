"""Trunk calls through a live server, against SIPp as the carrier: `python -m bench.trunk`.

Two benchmarks (results of this machine: bench/RESULTS.md):

- browsers out (default): N concurrent browser -> trunk calls. The server is a real Daphne process
  (`tests.live.start_live_server`, SIP on, N load extensions); the carrier is SIPp (UAS, `-rtp_echo`:
  every RTP packet goes back to where it came from); the browsers are light aiortc peers in
  `--workers` load processes (`bench.trunkload`). Reported: setup time (`call.create` ->
  `call.answered`: server work, our INVITE, SIPp's 200, the ACK) p50/p95, the packets each browser
  got back of those it sent in the window (through the server twice and the carrier once), and
  the server's CPU per call (psutil, user+system of its pid over the window). Without
  `--transcode` the browsers offer G.711 too, so the server relays PCMU as it is; with it they
  offer Opus only and the server transcodes both ways. `--python` keeps every packet of the server on
  the Python relay path (`ZORIO_NATIVE_RELAY=off`), for an A/B against the native relay.
- `--sipp-load`: SIPp (UAC) places `--total` calls at `--rate` calls/s into a DID whose target is
  `*43` (the server answers and echoes), each streaming a tone for `--hold` seconds; SIPp's own
  statistics give the failed calls (the target: none).

The CPU of the other processes of the machine is printed next to the server's: on a shared machine
that decides whether the numbers describe the server. Not a timed test: run it and write it down.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.calls import LoadProcesses
from bench.trunkload import TrunkResult, TrunkSpec, run_worker
from tests.live import LiveServer, free_sip_bind, manage, start_live_server
from tests.sip.sipp import free_port, port_in_use
from tests.sip.test_sipp_uac import write_mulaw_wav

SCENARIOS = Path(__file__).resolve().parent.parent / "tests" / "trunks" / "scenarios"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
TARGET_CALLS = 60
TARGET_CPU_PER_CALL = 0.6
TARGET_DELIVERY = 99.5
NUMBER = "0912345678"
DID = "+842873009000"


def sipp_scenario(name: str, workdir: Path, **template: str) -> Path:
    text = (SCENARIOS / name).read_text()
    for key, value in template.items():
        text = text.replace(f"@{key}@", value)
    path = workdir / name
    path.write_text(text)
    return path


def start_sipp(args: list[str], workdir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([SIPP, *args], cwd=workdir, stdin=subprocess.DEVNULL,
                               stdout=(workdir / "sipp.out").open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def machine_busy_s() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


def cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def browsers_out(args: argparse.Namespace) -> int:
    n = args.calls
    workdir = Path(tempfile.mkdtemp(prefix="bench-trunk-"))
    sipp_port, media_port = free_port(), free_port()
    scenario = sipp_scenario("carrier_echo.xml", workdir, LAW="0", RING_MS="0")
    sipp = start_sipp(["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(sipp_port), "-mp", str(media_port),
                       "-rtp_echo", "-nostdin", "-nd", "-m", str(n), "-trace_err", "-error_file",
                       str(workdir / "errors.log")], workdir, sipp_port)
    server = start_live_server({"SIP_BIND": free_sip_bind(), "MAX_CALLS_PER_PROCESS": str(max(150, n + 10)),
                                "MAX_CALLS_PER_TENANT": str(max(150, n + 10)),
                                "RTP_PORT_MIN": "49000", "RTP_PORT_MAX": "49999", "LOG_LEVEL": "WARNING",
                                **({"ZORIO_NATIVE_RELAY": "off"} if args.python else {})},
                               seed_extensions=n)
    try:
        manage(server, "add_trunk", "demo", "carrier", "--uri", f"sip:127.0.0.1:{sipp_port}")
        tokens = [server.token(str(2000 + i)) for i in range(n)]
        workers = max(1, min(args.workers, n))
        specs = [TrunkSpec(w, server.ws_url, tokens[w::workers], NUMBER, args.rate / workers, args.transcode)
                 for w in range(workers)]
        measured = drive(specs, server, args)
    finally:
        server.stop()
        sipp.terminate()
        sipp.wait(10)
    return report_browsers(args, measured, n)


def drive(specs: list[TrunkSpec], server: LiveServer, args: argparse.Namespace) -> dict[str, Any]:
    load = LoadProcesses(specs, target=run_worker)
    try:
        pids = [msg[1] for msg in load.expect("ready")]
        load.send("go")
        established = sum(msg[1] for msg in load.expect("answered"))
        t0 = time.monotonic() + args.warmup
        t0_ns = time.monotonic_ns() + int(args.warmup * 1e9)
        load.send("window", t0_ns, t0_ns + int(args.seconds * 1e9), 1.5)
        proc, clients = psutil.Process(server.process.pid), [psutil.Process(pid) for pid in pids]
        time.sleep(max(0.0, t0 - time.monotonic()))
        start, clients_start, busy_start, wall_start = cpu_s(proc), sum(map(cpu_s, clients)), machine_busy_s(), \
            time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - wall_start
        server_cpu, clients_cpu = cpu_s(proc) - start, sum(map(cpu_s, clients)) - clients_start
        busy = machine_busy_s() - busy_start
        load.expect("measured")
        load.send("hangup")
        results: list[TrunkResult] = [msg[1] for msg in load.expect("closed")]
    finally:
        load.join()
    return {"established": established, "results": results, "server_pct": 100 * server_cpu / wall,
            "clients_pct": 100 * clients_cpu / wall, "others_pct": 100 * (busy - server_cpu - clients_cpu) / wall}


def report_browsers(args: argparse.Namespace, m: dict[str, Any], n: int) -> int:
    results: list[TrunkResult] = m["results"]
    setup = np.array([s for r in results for s in r.setup_ms]) if m["established"] else np.zeros(1)
    sent, received = sum(r.sent for r in results), sum(r.received for r in results)
    delivered = 100 * received / sent if sent else 0.0
    per_call = m["server_pct"] / max(1, m["established"])
    codecs = sorted({c for r in results for c in r.codecs})
    mode = "transcoding Opus<->PCMU" if args.transcode else "G.711 relayed as is"
    mode += ", Python path only (ZORIO_NATIVE_RELAY=off)" if args.python else ""
    print(f"bench.trunk {datetime.date.today()} {platform.node()} load {psutil.getloadavg()}: {n} calls, {mode}")
    print(f"  established                {m['established']}/{n}  (browser answer payload types {codecs})")
    for r in results:
        for failure in r.failures + r.teardown_failures:
            print(f"  failure                    {failure}")
    print(f"  setup p50 / p95            {np.percentile(setup, 50):7.1f} / {np.percentile(setup, 95):7.1f} ms")
    print(f"  delivered (echoed back)    {delivered:7.2f} %   ({received}/{sent} packets)")
    if not args.transcode:
        latency = np.concatenate([x for r in results for x in r.latency_ms]) if sent else np.zeros(1)
        print(f"  round trip p50 / p95       {np.percentile(latency, 50):7.1f} / {np.percentile(latency, 95):7.1f} ms"
              "  (browser -> server -> carrier -> server -> browser)")
    print(f"  server CPU                 {m['server_pct']:7.1f} % of a core = {per_call:.2f} % per call")
    print(f"  load clients CPU           {m['clients_pct']:7.1f} %   other processes {m['others_pct']:.1f} %")
    ok = m["established"] == n and delivered >= TARGET_DELIVERY
    if not args.transcode:
        ok = ok and per_call <= TARGET_CPU_PER_CALL
        print(f"  targets ({TARGET_CALLS} calls, <= {TARGET_CPU_PER_CALL} % per call, >= {TARGET_DELIVERY} %): "
              f"{'ok' if ok else 'MISS'}")
    return 0 if ok else 1


def sipp_load(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-trunk-load-"))
    wav = workdir / "tone.wav"
    write_mulaw_wav(wav, 770.0, args.hold + 2)
    bind = free_sip_bind()
    server = start_live_server({"SIP_BIND": bind, "MAX_CALLS_PER_PROCESS": "400", "MAX_CALLS_PER_TENANT": "400",
                                "RTP_PORT_MIN": "49000",
                                "RTP_PORT_MAX": "49999", "LOG_LEVEL": "WARNING"})
    sipp_port = free_port()
    try:
        manage(server, "add_trunk", "demo", "carrier", "--uri", f"sip:127.0.0.1:{sipp_port}", "--did",
               f"{DID}=*43")
        scenario = sipp_scenario("caller_did.xml", workdir, WAV=str(wav), TALK_MS=str(int(args.hold * 1000)))
        proc = psutil.Process(server.process.pid)
        start, busy_start, wall_start = cpu_s(proc), machine_busy_s(), time.monotonic()
        sipp = start_sipp(["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(sipp_port), "-mp", str(free_port()),
                           "-s", DID, "-r", str(args.rate), "-m", str(args.total), "-l", str(args.total), "-nostdin",
                           "-nd", "-trace_stat", "-stf", str(workdir / "stats.csv"), "-trace_err", "-error_file",
                           str(workdir / "errors.log"), bind], workdir, sipp_port)
        code = sipp.wait(args.total / args.rate + args.hold + 120)
        wall = time.monotonic() - wall_start
        server_cpu, busy = cpu_s(proc) - start, machine_busy_s() - busy_start
    finally:
        server.stop()
    output = (workdir / "sipp.out").read_text(errors="replace")
    stats = (workdir / "stats.csv").read_text().splitlines() if (workdir / "stats.csv").exists() else []
    failed = successful = -1
    if len(stats) >= 2:
        head, last = stats[0].split(";"), stats[-1].split(";")
        successful, failed = int(last[head.index("SuccessfulCall(C)")]), int(last[head.index("FailedCall(C)")])
    print(f"bench.trunk --sipp-load {datetime.date.today()} {platform.node()} load {psutil.getloadavg()}: "
          f"{args.total} calls at {args.rate}/s into a DID (*43 echo), {args.hold:.0f} s each")
    print(f"  SIPp exit {code}: successful {successful}, failed {failed}")
    print(f"  server CPU                 {100 * server_cpu / wall:7.1f} % of a core over {wall:.0f} s;"
          f" other processes {100 * (busy - server_cpu) / wall:.1f} %")
    if failed:
        print(re.sub(r"\s+\n", "\n", output[-3000:]))
    return 0 if code == 0 and failed == 0 and successful == args.total else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trunk", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=TARGET_CALLS, help="concurrent browser -> trunk calls")
    parser.add_argument("--seconds", type=float, default=20.0, help="steady-state window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2, help="load processes")
    parser.add_argument("--rate", type=float, default=10.0, help="calls placed per second")
    parser.add_argument("--transcode", action="store_true", help="browsers offer Opus only: the server transcodes")
    parser.add_argument("--python", action="store_true",
                        help="the server relays on the Python path only (ZORIO_NATIVE_RELAY=off), for an A/B")
    parser.add_argument("--sipp-load", action="store_true", help="SIPp places calls into a DID instead")
    parser.add_argument("--total", type=int, default=200, help="--sipp-load: calls in all")
    parser.add_argument("--hold", type=float, default=5.0, help="--sipp-load: seconds each call streams")
    args = parser.parse_args(argv)
    return sipp_load(args) if args.sipp_load else browsers_out(args)


if __name__ == "__main__":
    sys.exit(main())
