"""What one relayed packet costs at the least on this machine: `python -m bench.floor`.

The relay's per-packet work has a floor that no Python code above it can go under: the event loop
waking up for a datagram, `recvfrom`, SRTP unprotect, SRTP protect, `sendto` (which, on loopback,
also delivers the packet to the receiving process and wakes it). This bench measures exactly that
and nothing else: a server process with one UDP socket per stream that unprotects each packet it
receives and sends it back protected (AES-256-GCM, the profile aiortc negotiates with itself and
Chrome), fed by a client process that sends every stream at 50 packets/s, spread over the 20 ms.

Compare its microseconds per packet with `bench.calls`' "per relayed packet": the difference is
what aiortc, aioice and our relay cost on top. `--uvloop` runs the server on uvloop instead of
asyncio's selector loop; `--recv-buffer` sets asyncio's per-datagram read buffer (asyncio's
default is 256 KiB, which costs an mmap/munmap per datagram; `aiortc_hook` uses 64 KiB).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import struct
import time
from typing import Any

from pylibsrtp import Policy, Session

PACKETS_PER_S = 50
KEY = bytes(range(44))
PROFILE = Policy.SRTP_PROFILE_AEAD_AES_256_GCM
PAYLOAD = bytes(100)


def _session(direction: int) -> Session:
    return Session(Policy(key=KEY, ssrc_type=direction, srtp_profile=PROFILE))


class _Reflector(asyncio.DatagramProtocol):
    """Unprotects what arrives and sends it back protected, from the socket callback."""

    def __init__(self, recv_buffer: int) -> None:
        self.recv_buffer = recv_buffer
        self.rx = _session(Policy.SSRC_ANY_INBOUND)
        self.tx = _session(Policy.SSRC_ANY_OUTBOUND)
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self.recv_buffer and hasattr(transport, "max_size"):
            transport.max_size = self.recv_buffer

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(self.tx.protect(self.rx.unprotect(data)), addr)


async def _serve(streams: int, seconds: float, recv_buffer: int, host: str, conn: Any) -> None:
    loop = asyncio.get_running_loop()
    ports = []
    for _ in range(streams):
        transport, _protocol = await loop.create_datagram_endpoint(
            lambda: _Reflector(recv_buffer), local_addr=(host, 0))
        ports.append(transport.get_extra_info("sockname")[1])
    conn.send(ports)
    await asyncio.sleep(2.0)  # the client is up and steady
    before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    await asyncio.sleep(seconds)
    after, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    packets = streams * PACKETS_PER_S * (t1 - t0)
    conn.send(((after.ru_utime - before.ru_utime) / packets * 1e6,
               (after.ru_stime - before.ru_stime) / packets * 1e6))


def _server(streams: int, seconds: float, recv_buffer: int, use_uvloop: bool, host: str, conn: Any) -> None:
    if use_uvloop:
        import uvloop  # not a requirement: `pip install uvloop`

        uvloop.install()
    asyncio.run(_serve(streams, seconds, recv_buffer, host, conn))


async def _send(ports: list[int], host: str) -> None:
    loop = asyncio.get_running_loop()
    tx = _session(Policy.SSRC_ANY_OUTBOUND)
    transports = [
        (await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=(host, port)))[0]
        for port in ports
    ]
    groups = 10
    tick_s = 0.020 / groups
    deadline, tick, seq = loop.time(), 0, 0
    while True:
        seq += 1
        for index in range(tick % groups, len(transports), groups):
            header = struct.pack("!BBHII", 0x80, 111, seq & 0xFFFF, seq * 960, index + 1)
            transports[index].sendto(tx.protect(header + PAYLOAD))
        tick += 1
        deadline += tick_s
        await asyncio.sleep(max(0.0, deadline - loop.time()))


def _client(ports: list[int], host: str) -> None:
    asyncio.run(_send(ports, host))


def measure(
    streams: int, seconds: float, recv_buffer: int, use_uvloop: bool, host: str, clients: int = 1
) -> tuple[float, float]:
    """(user, system) microseconds of server CPU per reflected packet."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_server, args=(streams, seconds, recv_buffer, use_uvloop, host, child))
    server.start()
    ports = parent.recv()
    senders = [ctx.Process(target=_client, args=(ports[i::clients], host), daemon=True) for i in range(clients)]
    for sender in senders:
        sender.start()
    try:
        user_us, system_us = parent.recv()
    finally:
        for sender in senders:
            sender.kill()
        server.join(10)
    return user_us, system_us


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=40, help="packet streams (2 per call)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--recv-buffer", type=int, default=65536, help="0: asyncio's default")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--clients", type=int, default=1, help="sending processes (bench.calls uses 2)")
    args = parser.parse_args()
    user_us, system_us = measure(args.streams, args.seconds, args.recv_buffer, args.uvloop, args.host, args.clients)
    total = user_us + system_us
    loop = "uvloop" if args.uvloop else "asyncio"
    buffer = f"{args.recv_buffer} B" if args.recv_buffer else "asyncio's 256 KiB"
    print(f"bench.floor: {args.streams} streams x {PACKETS_PER_S} packets/s from {args.clients} process(es),"
          f" {loop}, read buffer {buffer}")
    print(f"server CPU per packet   {total:.1f} us (user {user_us:.1f}, system {system_us:.1f})"
          f" = {total * 100 / 1e4:.2f}% of a core per call (2 x {PACKETS_PER_S} packets/s)")


if __name__ == "__main__":
    main()
