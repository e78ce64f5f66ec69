"""What a trunk call costs in CPU, relayed as G.711 or transcoded Opus↔G.711: `python -m bench.trunk_transcode`.

Two measurements, both in this one process, on real sockets where a socket is involved:

1. ``relay``: N pairs of ``RtpSession``s on loopback; the far end of each pair streams 50 G.711
   packets/s both ways, and the near sessions relay them to each other's ``outbound.push``
   exactly as the bridge does (received → pushed, nothing decoded). Reported: process CPU (all
   threads) per call as % of one core, and the share of packets delivered.
2. ``transcode``: N ``TranscodingAdapter`` pairs (Opus→G.711 and G.711→Opus, each in its worker
   thread) fed 50 packets/s each for the duration; reported the same way, plus the pure codec cost
   per packet measured without the loop.

A call is counted as both directions of one party's audio. Nothing here is a timed test: run it,
read the numbers, write them down (bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

import numpy as np

from zorio_widget.media.clips import encode_opus
from zorio_widget.media.rtp import G711ToOpus, OpusToG711, PortRange, RtpSession, TranscodingAdapter, g711

PACKETS_PER_S = 50


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tone_g711(seconds: float) -> list[bytes]:
    n = int(8000 * seconds) // 160 * 160
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(n) / 8000)).astype(np.int16)
    data = g711.encode("pcmu", pcm)
    return [data[i:i + 160] for i in range(0, len(data), 160)]


def tone_opus(seconds: float) -> list[bytes]:
    n = int(48000 * seconds) // 960 * 960
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)).astype(np.int16)
    return list(encode_opus(pcm, loop=False))


async def paced(count: int, send: list, seconds: float) -> None:  # type: ignore[type-arg]
    """Call every ``send[i](k)`` once per 20 ms for ``seconds``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for k in range(int(seconds * PACKETS_PER_S)):
        for fn in send:
            fn(k)
        await asyncio.sleep(max(0.0, start + (k + 1) / PACKETS_PER_S - loop.time()))


async def bench_relay(calls: int, seconds: float) -> dict[str, float]:
    ports = PortRange(45000, 46999)
    sessions: list[RtpSession] = []
    received = [0]
    senders = []
    payloads = tone_g711(1.0)
    for _ in range(calls):
        far_a, near_a, near_b, far_b = (RtpSession(ports, local_address="127.0.0.1", media_timeout_s=0)
                                        for _leg in range(4))
        for s in (far_a, near_a, near_b, far_b):
            await s.open()
        far_a.accept_answer(near_a.accept_offer(far_a.create_offer()))
        far_b.accept_answer(near_b.accept_offer(far_b.create_offer()))
        # the bridge: what one near leg receives goes out of the other
        near_b.outbound.play_forwarded(near_a.id)
        near_a.outbound.play_forwarded(near_b.id)
        near_a.on_packet = lambda leg, p, out=near_b.outbound: out.push(leg.id, p.ssrc, p.timestamp, p.payload)
        near_b.on_packet = lambda leg, p, out=near_a.outbound: out.push(leg.id, p.ssrc, p.timestamp, p.payload)

        def count(leg: RtpSession, packet: object) -> None:
            received[0] += 1
        far_a.on_packet = far_b.on_packet = count
        for far in (far_a, far_b):
            far.outbound.play_forwarded("gen")
            senders.append(lambda k, out=far.outbound: out.push("gen", 7, 160 * k, payloads[k % len(payloads)]))
        sessions += [far_a, near_a, near_b, far_b]
    await asyncio.sleep(0.2)
    before, wall = cpu_s(), time.perf_counter()
    await paced(calls, senders, seconds)
    await asyncio.sleep(0.2)
    used, elapsed = cpu_s() - before, time.perf_counter() - wall
    for s in sessions:
        await s.close()
    sent = 2 * calls * int(seconds * PACKETS_PER_S)
    # the far ends' own sending and receiving is in this process too: half of it is the bench's
    return {"cpu_per_call_pct": 100 * used / elapsed / calls, "delivered_pct": 100 * received[0] / sent}


async def bench_transcode(calls: int, seconds: float) -> dict[str, float]:
    opus, pcmu = tone_opus(1.0), tone_g711(1.0)
    delivered = [0]

    def deliver(result: list[bytes]) -> None:
        delivered[0] += len(result)
    adapters: list[TranscodingAdapter] = []
    senders = []
    for _ in range(calls):
        down = TranscodingAdapter(OpusToG711("pcmu"), deliver)
        up = TranscodingAdapter(G711ToOpus("pcmu"), deliver)
        adapters += [down, up]
        senders.append(lambda k, a=down: a.push(opus[k % len(opus)]))
        senders.append(lambda k, a=up: a.push(pcmu[k % len(pcmu)]))
    before, wall = cpu_s(), time.perf_counter()
    await paced(calls, senders, seconds)
    await asyncio.sleep(0.3)
    used, elapsed = cpu_s() - before, time.perf_counter() - wall
    dropped = sum(a.dropped for a in adapters)
    for a in adapters:
        a.close()
    sent = 2 * calls * int(seconds * PACKETS_PER_S)
    return {"cpu_per_call_pct": 100 * used / elapsed / calls, "delivered_pct": 100 * delivered[0] / sent,
            "dropped": dropped}


def codec_cost_us() -> dict[str, float]:
    opus, pcmu = tone_opus(2.0), tone_g711(2.0)
    out = {}
    for name, converter, packets in (("opus_to_g711_us", OpusToG711("pcmu"), opus),
                                     ("g711_to_opus_us", G711ToOpus("pcmu"), pcmu)):
        start = time.process_time()
        for payload in packets * 5:
            converter.convert(payload)
        out[name] = 1e6 * (time.process_time() - start) / (len(packets) * 5)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trunk_transcode", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    codec = codec_cost_us()
    print(f"codec cost per 20 ms packet: Opus->G.711 {codec['opus_to_g711_us']:.0f} us, "
          f"G.711->Opus {codec['g711_to_opus_us']:.0f} us; per call (both directions, 50 pkt/s) "
          f"{(codec['opus_to_g711_us'] + codec['g711_to_opus_us']) * 50 / 1e4:.2f}% of a core")
    relay = await bench_relay(args.calls, args.seconds)
    print(f"G.711 relay, {args.calls} calls x {args.seconds:.0f} s: {relay['cpu_per_call_pct']:.2f}% of a core per "
          f"call (far ends included), {relay['delivered_pct']:.2f}% delivered")
    transcode = await bench_transcode(args.calls, args.seconds)
    print(f"transcoding adapters, {args.calls} calls x {args.seconds:.0f} s: {transcode['cpu_per_call_pct']:.2f}% "
          f"of a core per call, {transcode['delivered_pct']:.2f}% converted, {transcode['dropped']:.0f} dropped")


if __name__ == "__main__":
    asyncio.run(main())
