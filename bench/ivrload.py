"""Concurrent IVR calls on a live server (used by `python -m bench.scenarios --ivr-calls N`).

A Daphne process of its own runs an `ivr` route whose prompt (speech, synthesised once and then
cached) lasts longer than the window; N light aiortc callers (`bench.loadclient.LightLeg`: they
send Opus, log what they receive, never decode) dial it from N extensions over N WebSockets. Over
the window the server's CPU is sampled (psutil) and each caller's received packets counted: the
prompt must reach every caller at 50 packets/s while the server's CPU per call stays small.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import psutil

from bench.loadclient import SIGNAL_TIMEOUT_S, LightLeg, Pacer
from tests.live import manage, start_live_server
from zorio_widget.client import PhoneClient
from zorio_widget.media import aiortc_hook
from zorio_widget.media.clips import load_clip

ORIGIN = "http://127.0.0.1:5173"
PROMPT = ("Welcome to the Zorio benchmark line. " * 12).strip()
ROUTE = "7400"


@dataclass
class IvrLoad:
    calls: int
    answered: int
    window_s: float
    server_cpu_pct: float
    "Of one core, over the window."
    packets_per_s_min: float
    packets_per_s_median: float
    setup_ms_median: float


async def _dial(phone: PhoneClient, leg: LightLeg) -> float:
    offer = await leg.offer()
    started = time.monotonic()
    trying = await phone.request({"type": "call.create", "destination": ROUTE, "sdp": offer}, "call.trying",
                                 timeout_s=SIGNAL_TIMEOUT_S)
    if trying["type"] == "error":
        raise RuntimeError(f"call.create refused: {trying}")
    answer = await phone.expect("sdp.answer", timeout_s=SIGNAL_TIMEOUT_S, call_id=trying["call_id"])
    await leg.accept_answer(answer["sdp"])
    await phone.expect("call.answered", timeout_s=SIGNAL_TIMEOUT_S, call_id=trying["call_id"])
    return (time.monotonic() - started) * 1000


async def measure(calls: int, window_s: float, warmup_s: float = 4.0, inband: bool = True) -> IvrLoad:
    aiortc_hook.install()
    server = start_live_server({"MAX_CALLS_PER_TENANT": str(calls + 10), "MAX_CALLS_PER_PROCESS": str(calls + 10)},
                               seed_extensions=calls)
    manage(server, "add_route", "demo", ROUTE, "ivr", "--params", json.dumps(
        {"prompt": {"say": PROMPT}, "options": {"1": {"hangup": True}}, "timeout_s": 60, "retries": 0,
         "inband": inband}))
    payloads = (await load_clip("music")).packets
    pacer = Pacer()
    phones: list[PhoneClient] = []
    legs: list[LightLeg] = []
    try:
        for i in range(calls):
            phone = await PhoneClient.connect(server.ws_url, server.token(str(2000 + i)), origin=ORIGIN)
            await phone.registered()
            phones.append(phone)
            legs.append(LightLeg(i + 1, -1, payloads, pacer))
        setups = list(await asyncio.gather(*(_dial(p, leg) for p, leg in zip(phones, legs, strict=True))))
        await asyncio.sleep(warmup_s)
        proc = psutil.Process(server.process.pid)
        before = [leg.rx.unstamped for leg in legs]
        cpu0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
        await asyncio.sleep(window_s)
        cpu1, t1 = sum(proc.cpu_times()[:2]), time.monotonic()
        rates = sorted((leg.rx.unstamped - b) / (t1 - t0) for leg, b in zip(legs, before, strict=True))
        return IvrLoad(calls, len(setups), t1 - t0, (cpu1 - cpu0) / (t1 - t0) * 100, rates[0],
                       rates[len(rates) // 2], sorted(setups)[len(setups) // 2])
    finally:
        for leg in legs:
            await leg.close()
        for phone in phones:
            await phone.close()
        await pacer.close()
        server.stop()
