"""Load process of `bench.trunk`: browsers (light aiortc peers) calling out through the trunk.

Each call is one `PhoneClient` and one `bench.loadclient.LightLeg` dialling a phone number; the
carrier (SIPp with `-rtp_echo`) sends every RTP packet back, so each leg receives its own stamped
packets: delivery and one-way-and-back latency are read off the stamps (`flow_stats` of the leg
against itself). With `transcode`, the leg offers Opus only: the server must transcode both ways
(Opus -> PCMU to the carrier, PCMU -> Opus back), stamps do not survive, and delivery is counted
as packets received per packet sent in the window.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bench.loadclient import ORIGIN, SIGNAL_TIMEOUT_S, LightLeg, Pacer, _Pipe, flow_stats
from zorio_widget.client import PhoneClient
from zorio_widget.media import aiortc_hook
from zorio_widget.media.clips import load_clip


@dataclass
class TrunkSpec:
    index: int
    ws_url: str
    tokens: list[str]
    number: str
    call_rate_per_s: float
    transcode: bool


@dataclass
class TrunkResult:
    index: int
    setup_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    latency_ms: list[Any] = field(default_factory=list)
    codecs: list[str] = field(default_factory=list)
    teardown_failures: list[str] = field(default_factory=list)


def opus_only(sdp: str) -> str:
    """The offer of a browser that offers no G.711 (the server then transcodes)."""
    drop = {pt for pt, name in re.findall(r"^a=rtpmap:(\d+) (PCMU|PCMA)/8000", sdp, flags=re.M)}
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("m=audio "):
            line = " ".join(f for i, f in enumerate(line.split()) if i < 3 or f not in drop)
        elif any(line.startswith(f"a={kind}:{pt} ") for pt in drop for kind in ("rtpmap", "fmtp", "rtcp-fb")):
            continue
        lines.append(line)
    return "\r\n".join(lines)


async def _place(phone: PhoneClient, leg: LightLeg, spec: TrunkSpec) -> tuple[str, float, str]:
    offer = await leg.offer()
    if spec.transcode:
        offer = opus_only(offer)
    started = time.monotonic()
    trying = await phone.request({"type": "call.create", "destination": spec.number, "sdp": offer}, "call.trying",
                                 timeout_s=SIGNAL_TIMEOUT_S)
    if trying["type"] == "error":
        raise RuntimeError(f"call.create refused: {trying.get('code')} {trying.get('message')}")
    answer = await phone.expect("sdp.answer", timeout_s=SIGNAL_TIMEOUT_S, call_id=trying["call_id"])
    await leg.accept_answer(answer["sdp"])
    await phone.expect("call.answered", timeout_s=SIGNAL_TIMEOUT_S, call_id=trying["call_id"])
    codec = answer["sdp"].split("m=audio ", 1)[1].split("\r\n", 1)[0].split()[2]
    return trying["call_id"], (time.monotonic() - started) * 1000, codec


async def _worker(pipe: _Pipe, spec: TrunkSpec) -> None:
    aiortc_hook.install()
    payloads = (await load_clip("music")).packets
    result = TrunkResult(spec.index)
    pacer = Pacer()
    phones = [await PhoneClient.connect(spec.ws_url, token, origin=ORIGIN) for token in spec.tokens]
    for phone in phones:
        await phone.registered()
    legs = [LightLeg((spec.index << 16) + i, (spec.index << 16) + i, payloads, pacer) for i in range(len(phones))]
    pipe.send("ready", os.getpid())

    await pipe.recv()  # ("go",)
    interval = 1.0 / spec.call_rate_per_s if spec.call_rate_per_s > 0 else 0.0
    placing = []
    for phone, leg in zip(phones, legs, strict=True):
        placing.append(asyncio.create_task(_place(phone, leg, spec)))
        if interval:
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))
    outcomes = await asyncio.gather(*placing, return_exceptions=True)
    live = []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):
            result.failures.append(f"call {spec.index}/{i}: {outcome!r}"[:300])
        else:
            call_id, setup_ms, codec = outcome
            live.append((phones[i], legs[i], call_id))
            result.setup_ms.append(setup_ms)
            result.codecs.append(codec)
    pipe.send("answered", len(live))

    _cmd, t0_ns, t1_ns, grace_s = await pipe.recv()  # ("window", ...)
    await asyncio.sleep(max(0.0, (t0_ns - time.monotonic_ns()) / 1e9))
    unstamped_at_t0 = [leg.rx.unstamped for _p, leg, _c in live]
    await asyncio.sleep(max(0.0, (t1_ns - time.monotonic_ns()) / 1e9))
    unstamped_at_t1 = [leg.rx.unstamped for _p, leg, _c in live]
    await asyncio.sleep(grace_s)
    for (_phone, leg, _call_id), before, after in zip(live, unstamped_at_t0, unstamped_at_t1, strict=True):
        flow = flow_stats(leg.track, leg.rx, t0_ns, t1_ns)
        result.sent += flow.sent
        result.received += (after - before) if spec.transcode else flow.received
        result.latency_ms.append(flow.latency_ms)
    pipe.send("measured")

    await pipe.recv()  # ("hangup",)
    async def hang_up(phone: PhoneClient, call_id: str) -> None:
        await phone.send({"type": "call.hangup", "call_id": call_id})
        await phone.expect("call.ended", timeout_s=SIGNAL_TIMEOUT_S, call_id=call_id)
    ended = await asyncio.gather(*(hang_up(p, c) for p, _leg, c in live), return_exceptions=True)
    result.teardown_failures = [repr(e)[:300] for e in ended if isinstance(e, BaseException)]
    await pacer.close()
    await asyncio.gather(*(leg.close() for leg in legs), return_exceptions=True)
    await asyncio.gather(*(p.close() for p in phones), return_exceptions=True)
    pipe.send("closed", result)


def run_worker(conn: Any, spec: TrunkSpec) -> None:
    """multiprocessing target: one load process."""
    try:
        asyncio.run(_worker(_Pipe(conn), spec))
    except BaseException as exc:
        conn.send(("crashed", repr(exc)))
        raise
