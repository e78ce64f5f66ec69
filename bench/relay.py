"""CPU of the relay's hot path for one packet, warm, in one process: `python -m bench.relay`.

Two light aiortc clients (``bench.loadclient.LightLeg``, which never send on their own here) are
connected to two server ``MediaLeg``s, which the ``Bridge`` connects. Then SRTP packets protected
with client A's real keys are handed to leg A's ICE connection exactly as the socket callback
does, one after the other without yielding to the event loop. Each one is unprotected, read,
counted, bridged and sent to client B by ``DirectSend`` (SRTP protect and a real ``sendto``).

So the number is what our Python and the two SRTP calls and one ``sendto`` cost per relayed packet
when caches are warm and nobody has to be woken up: the part of ``bench.calls``' "per relayed
packet" that this code controls. ``bench.floor`` gives the part it does not (the loop waking up for
each datagram, the receiver's wake-up).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.rtp import RtpPacket

from zorio_widget.media import MediaLeg, aiortc_hook, native
from zorio_widget.media.aiortc_hook import receive as receive_module
from zorio_widget.media.bridge import Bridge
from zorio_widget.media.clips import FRAME_SAMPLES, load_clip
from zorio_widget.media.native import routes as native_routes

from .loadclient import LightLeg, Pacer, StampedOpusTrack


class _SilentPacer(Pacer):
    """Takes the tracks and never sends: the clients send nothing by themselves."""

    def add(self, track: StampedOpusTrack) -> None:
        pass


async def _connected(client: LightLeg, leg: MediaLeg) -> None:
    answer = await leg.accept_offer(await client.offer())
    await client.accept_answer(answer)
    for _ in range(200):
        if leg.state == "connected" and client.pc.connectionState == "connected":
            return
        await asyncio.sleep(0.025)
    raise RuntimeError(f"leg {leg.id} did not connect")


Setup = Callable[[Bridge, MediaLeg, MediaLeg], Awaitable[Callable[[], Awaitable[None]]]]
"""Changes the bridged pair before the measured packets (e.g. taps them for recording); returns what
finishes that work, awaited inside the measured time (its CPU, threads included, counts)."""


async def measure(packets: int, setup: Setup | None = None) -> tuple[float, int, int]:
    """(µs of CPU per packet handed to leg A, packets relayed to client B, of which natively)."""
    aiortc_hook.install()
    payloads = (await load_clip("music")).packets
    idle = _SilentPacer()
    a, b = LightLeg(1, 2, payloads, idle), LightLeg(2, 1, payloads, idle)
    leg_a, leg_b = MediaLeg("a"), MediaLeg("b")
    bridge = Bridge()
    try:
        await _connected(a, leg_a)
        await _connected(b, leg_b)
        bridge.connect(leg_a, leg_b)
        finish = await setup(bridge, leg_a, leg_b) if setup is not None else None
        sender = a.pc.getTransceivers()[0].sender
        srtp = sender.transport._tx_srtp
        codecs = aiortc_hook.sender_codecs(sender)
        payload_type = codecs[0].payloadType if codecs else 111
        receive: Any = leg_a._pc.getReceivers()[0].transport.transport._connection.data_received
        if not isinstance(getattr(receive, "fallback", receive), receive_module._FastReceive):
            raise RuntimeError("leg A has no fast receive path")

        def packet(seq: int) -> bytes:
            rtp = RtpPacket(payload_type=payload_type, sequence_number=seq & 0xFFFF, timestamp=seq * FRAME_SAMPLES,
                            ssrc=sender._ssrc)
            rtp.payload = payloads[seq % len(payloads)]
            return bytes(srtp.protect(rtp.serialize()))

        direct = a.track.direct_send
        first = (direct.sequence_number if direct is not None else 0) + 10  # after what A's loop sent
        receive(packet(first), 1)  # the first packet of an SSRC takes the stock path, which routes it
        await asyncio.sleep(0.2)
        sent_before = leg_b.outbound.forwarded
        wire = [packet(seq) for seq in range(first + 1, first + 1 + packets)]
        start = time.process_time()
        for data in wire:
            receive(data, 1)
        if finish is not None:
            await finish()
        elapsed = time.process_time() - start
        relayed = leg_b.outbound.forwarded - sent_before
        return elapsed / len(wire) * 1e6, relayed, native_routes.counters(leg_a)["relayed"]
    finally:
        for leg in (leg_a, leg_b):
            await leg.close()
        for client in (a, b):
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", action="store_true", help="the Python path only (no native route)")
    args = parser.parse_args()
    if args.python:
        native.enabled = False
    path = "native" if native.enabled else "Python"
    for _ in range(args.rounds):
        us, relayed, natively = asyncio.run(measure(args.packets))
        print(f"relay hot path ({path}): {us:.1f} us of CPU per relayed packet ({relayed} of {args.packets} relayed,"
              f" {natively} natively; SRTP both ways and sendto included)")


if __name__ == "__main__":
    main()
