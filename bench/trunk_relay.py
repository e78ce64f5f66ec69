"""CPU per relayed packet of a browser <-> trunk call, native vs Python path: `python -m bench.trunk_relay`.

One call in one process, everything real: a light aiortc browser (``bench.loadclient.LightLeg``,
which never sends on its own here) on PCMU, its server ``MediaLeg``, our trunk leg (``RtpLeg`` around
an ``RtpSession``) and the carrier (another ``RtpSession``), the ``Bridge`` connecting the two legs.
Packets are written into the server's receiving socket in batches (untimed), then the event
loop's own read callback for that socket is run until the batch is relayed (timed, CPU of the
process: ``time.process_time``):

- trunk -> browser: plain RTP from the carrier's socket into the trunk leg's socket; read (asyncio's
  ``_read_ready``, or ``fastrelay.Reader``), latched-source and payload-type checks, the bridge,
  renumbering on the browser track's timeline, SRTP protect, ``sendto`` the browser;
- browser -> trunk: SRTP protected with the browser's real keys into the browser leg's ICE socket;
  read, SRTP unprotect, aiortc's receiver bookkeeping, the bridge, renumbering on the trunk leg's
  stream, ``sendto`` the carrier.

So the number is what the server spends per relayed packet of a trunk call, from ``recvfrom`` to
``sendto``, without the event loop's wake-up (``bench.floor`` measures that part). The native and
the Python path (``native.enabled`` off: what ``ZORIO_NATIVE_RELAY=off`` or an unbuilt extension
gives) are measured A/B, interleaved round by round in the same run, each round on fresh legs.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import struct
import time
from collections.abc import Callable
from typing import Any

from aiortc.rtp import RtpPacket

from zorio_widget.media import MediaLeg, aiortc_hook, native
from zorio_widget.media.bridge import Bridge
from zorio_widget.media.clips import load_clip
from zorio_widget.media.native import routes as native_routes
from zorio_widget.media.rtp import PortRange, RtpLeg, RtpSession

from .loadclient import LightLeg
from .relay import _connected, _SilentPacer

FRAME = 160
CARRIER_SSRC = 0x5EED0001
PAYLOAD = bytes(range(160))


def _reader_of(fd: int) -> Callable[[], None]:
    """What the event loop runs when ``fd`` is readable (asyncio's ``_read_ready`` or the Reader)."""
    loop: Any = asyncio.get_running_loop()
    handle = loop._selector.get_key(fd).data[0]
    return lambda: handle._callback(*handle._args)


def _drain(read: Callable[[], None], done: Callable[[], bool], batch: int) -> float:
    """CPU seconds the loop's read callback takes to relay what waits in the socket."""
    start = time.process_time()
    for _ in range(4 * batch):
        if done():
            break
        read()
    return time.process_time() - start


async def _timed(send: Callable[[int], None], seq: int, read: Callable[[], None], taken: Callable[[], int],
                 relayed: Callable[[], int], leg: Any, packets: int, batch: int) -> tuple[float, int, int]:
    """(µs of CPU per relayed packet, relayed, of which natively): ``packets`` sent by ``send`` in
    batches, each drained by ``read`` (timed) until ``taken`` counts the batch; ``relayed`` counts
    what went out, ``leg``'s route counters what went natively."""
    relayed0, native0 = relayed(), native_routes.counters(leg)["relayed"]
    cpu = 0.0
    for _ in range(packets // batch):
        goal = taken() + batch
        for _ in range(batch):
            seq += 1
            send(seq)
        cpu += _drain(read, lambda goal=goal: taken() >= goal, batch)
        await asyncio.sleep(0.005)  # the far end reads what it was sent (untimed)
    done = relayed() - relayed0
    return cpu / max(1, done) * 1e6, done, native_routes.counters(leg)["relayed"] - native0


async def _call() -> tuple[LightLeg, MediaLeg, RtpLeg, RtpSession, Bridge]:
    payloads = (await load_clip("music")).packets
    client = LightLeg(1, 2, payloads, _SilentPacer())
    browser = MediaLeg("browser")
    browser.prefer_codecs(("pcmu", "pcma", "opus"))
    await _connected(client, browser)
    ports = PortRange(48000, 48999)
    ours = RtpSession(ports, local_address="127.0.0.1", leg_id="trunk", media_timeout_s=0)
    carrier = RtpSession(ports, local_address="127.0.0.1", leg_id="carrier", media_timeout_s=0)
    await ours.open()
    await carrier.open()
    carrier.accept_answer(ours.accept_offer(carrier.create_offer()))
    trunk, bridge = RtpLeg(ours, "trunk"), Bridge()
    bridge.connect(browser, trunk)
    await asyncio.sleep(0.2)
    if browser.audio_codec != "pcmu":
        raise RuntimeError(f"the browser leg negotiated {browser.audio_codec}, not PCMU")
    return client, browser, trunk, carrier, bridge


async def measure(packets: int, batch: int) -> dict[str, tuple[float, int, int]]:
    """{direction: (µs of CPU per packet, packets relayed, of which natively)} on fresh legs."""
    aiortc_hook.install()
    client, browser, trunk, carrier, _bridge = await _call()
    ours = trunk.session
    try:
        results = {}
        # -- trunk -> browser ------------------------------------------------------------------
        carrier_sock: socket.socket = carrier.transport._sock  # type: ignore[union-attr]
        target = ("127.0.0.1", ours.local_port)

        def from_carrier(seq: int) -> None:
            header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * FRAME) & 0xFFFFFFFF, CARRIER_SSRC)
            carrier_sock.sendto(header + PAYLOAD, target)

        seq = 0
        for seq in range(1, 6):  # the first packets take the Python path, which arms the route
            from_carrier(seq)
            await asyncio.sleep(0.01)
        results["trunk -> browser"] = await _timed(
            from_carrier, seq, _reader_of(ours.transport._sock_fd),  # type: ignore[union-attr]
            lambda: ours.packets_received, lambda: browser.outbound.forwarded, trunk, packets, batch)
        # -- browser -> trunk ------------------------------------------------------------------
        sender = client.pc.getTransceivers()[0].sender
        srtp = sender.transport._tx_srtp
        pair = browser.receiver.transport.transport._connection._nominated[1]
        server_fd, server_addr = pair.protocol.transport._sock_fd, pair.protocol.transport.get_extra_info("sockname")
        stream = ours.outbound.stream
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as browser_sock:

            def from_browser(seq: int) -> None:
                rtp = RtpPacket(payload_type=0, sequence_number=seq & 0xFFFF, timestamp=(seq * FRAME) & 0xFFFFFFFF,
                                ssrc=sender._ssrc)
                rtp.payload = PAYLOAD
                browser_sock.sendto(bytes(srtp.protect(rtp.serialize())), server_addr)

            for seq in range(1, 6):
                from_browser(seq)
                await asyncio.sleep(0.01)
            results["browser -> trunk"] = await _timed(
                from_browser, seq, _reader_of(server_fd), lambda: stream.forwarded, lambda: stream.forwarded,
                browser, packets, batch)
        return results
    finally:
        for media in (browser, trunk, carrier):
            await media.close()
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trunk_relay", description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=10000, help="packets per direction and round")
    parser.add_argument("--batch", type=int, default=50, help="packets written before each timed drain")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each path, interleaved")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--python", action="store_true", help="the Python path only (no native route)")
    only.add_argument("--native", action="store_true", help="the native path only")
    args = parser.parse_args()
    if not native.available() and not args.python:
        parser.error("the native relay is not built (`make native`); --python measures the Python path alone")
    paths = ["python"] if args.python else ["native"] if args.native else ["native", "python"]
    seen: dict[tuple[str, str], list[float]] = {}
    for round_no in range(1, args.rounds + 1):
        for path in paths:
            native.enabled = path == "native"
            for direction, (us, relayed, natively) in asyncio.run(measure(args.packets, args.batch)).items():
                seen.setdefault((path, direction), []).append(us)
                print(f"round {round_no} {path:6} {direction}: {us:6.1f} us of CPU per relayed packet "
                      f"({relayed} relayed, {natively} natively; recvfrom to sendto, SRTP included)", flush=True)
    print("median over rounds:")
    for direction in ("trunk -> browser", "browser -> trunk"):
        line = "  ".join(f"{path} {statistics.median(seen[(path, direction)]):6.1f} us" for path in paths)
        ratio = ""
        if len(paths) == 2:
            ratio = f"  (native = {statistics.median(seen[('native', direction)]) / statistics.median(seen[('python', direction)]):.2f} x Python)"
        print(f"  {direction:17} {line}{ratio}")


if __name__ == "__main__":
    main()
