"""SIP over UDP and TCP on one asyncio loop: bytes in, bytes out (RFC 3261 §18).

One ``SipTransport`` binds a UDP socket and a TCP listener on the same ``host:port``. Received
datagrams and framed TCP messages go to ``on_data(data, peer)``; the transaction layer parses them.
``send(data, peer)`` never blocks: UDP is a ``sendto``; over TCP a message goes on the open
connection to that peer (ours or theirs, RFC 3261 §18.2.2 sends responses back on the connection
the request came on), or a connection is opened in a task and the message waits for it. A
connection that fails or closes is reported to ``on_error(peer)`` so transactions waiting on it end.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .framing import PING, PONG, FramingError, StreamFramer

logger = logging.getLogger(__name__)

TRANSPORTS: Final = ("udp", "tcp")
TCP_CONNECT_TIMEOUT_S: Final = 5.0
TCP_IDLE_CLOSE_S: Final = 300.0
"A TCP connection with no traffic for this long is closed (the peer reconnects when it needs to)."
MAX_TCP_CONNECTIONS: Final = 1024
MAX_QUEUED_BYTES: Final = 1 << 20
"Unsent bytes one connection may hold; past that the connection is dropped (a peer not reading)."


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message came from or goes to: transport and the remote socket address."""

    transport: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"

    @property
    def reliable(self) -> bool:
        return self.transport == "tcp"


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int] | tuple[str, int, int, int]) -> None:
        if not data.strip(b"\r\n\0 "):
            return  # keep-alive
        self.owner._deliver(data, Peer("udp", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        logger.debug("udp error: %s", exc)


class _Tcp(asyncio.Protocol):
    def __init__(self, owner: SipTransport, peer: Peer | None = None) -> None:
        self.owner = owner
        self.peer = peer
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.peer is None:
            host, port = transport.get_extra_info("peername")[:2]
            self.peer = Peer("tcp", host, port)
        if len(self.owner._tcp) >= MAX_TCP_CONNECTIONS and self.peer not in self.owner._tcp:
            logger.warning("tcp: too many connections, refusing %s", self.peer)
            transport.abort()
            return
        old = self.owner._tcp.get(self.peer)
        if old is not None and old is not self:
            old.close()
        self.owner._tcp[self.peer] = self
        self._touch()

    def data_received(self, data: bytes) -> None:
        self._touch()
        try:
            frames = self.framer.feed(data)
        except FramingError as exc:
            logger.info("tcp %s: %s; closing", self.peer, exc)
            self.close()
            return
        for frame in frames:
            if frame == PING:
                self.write(PONG)
            elif self.peer is not None:
                self.owner._deliver(frame, self.peer)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size() + len(data) > MAX_QUEUED_BYTES:
            logger.warning("tcp %s: peer not reading; closing", self.peer)
            self.close()
            return
        self._touch()
        self.transport.write(data)

    def _touch(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(TCP_IDLE_CLOSE_S, self.close)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self.peer is not None and self.owner._tcp.get(self.peer) is self:
            del self.owner._tcp[self.peer]
            self.owner._lost(self.peer)


class SipTransport:
    """UDP socket + TCP listener and connections, on the running loop."""

    def __init__(
        self,
        on_data: Callable[[bytes, Peer], None],
        on_error: Callable[[Peer], None] | None = None,
    ) -> None:
        self.on_data = on_data
        self.on_error = on_error
        self.host = ""
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._tcp: dict[Peer, _Tcp] = {}
        self._pending: dict[Peer, list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._local_hosts: dict[str, str] = {}

    async def start(self, host: str, port: int, *, tcp: bool = True) -> None:
        """Bind UDP (and TCP) on ``host:port``; port 0 picks a port free for both."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20 if port == 0 else 1):
            transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(host, port))
            bound_host, bound_port = transport.get_extra_info("sockname")[:2]
            if tcp:
                try:
                    self._server = await loop.create_server(lambda: _Tcp(self), bound_host, bound_port)
                except OSError:
                    transport.close()
                    if port:
                        raise
                    continue  # that UDP port's TCP twin is taken: try another
            self._udp, self.host, self.port = transport, bound_host, bound_port
            logger.info("SIP listening on udp%s %s:%d", "+tcp" if tcp else "", self.host, self.port)
            return
        raise OSError(f"no port free for both UDP and TCP on {host}")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except asyncio.CancelledError:
                pass
        for conn in list(self._tcp.values()):
            conn.close()
        self._tcp.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    def local_host_for(self, remote_host: str) -> str:
        """The address of ours that ``remote_host`` reaches (bound host, or the route's source
        address when bound to any); a connected UDP socket asks the kernel, sending nothing."""
        if self.host not in ("0.0.0.0", "::", ""):
            return self.host
        cached = self._local_hosts.get(remote_host)
        if cached:
            return cached
        try:
            family = socket.AF_INET6 if ipaddress.ip_address(remote_host).version == 6 else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((remote_host, 9))
                local = probe.getsockname()[0]
        except (OSError, ValueError):
            local = "127.0.0.1"
        self._local_hosts[remote_host] = local
        return local

    def send(self, data: bytes, peer: Peer) -> None:
        if peer.transport == "udp":
            if self._udp is not None:
                self._udp.sendto(data, (peer.host, peer.port))
            return
        conn = self._tcp.get(peer)
        if conn is not None:
            conn.write(data)
            return
        queue = self._pending.get(peer)
        if queue is not None:
            queue.append(data)
            return
        self._pending[peer] = [data]
        task = asyncio.ensure_future(self._connect(peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: _Tcp(self, peer), peer.host, peer.port), TCP_CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError) as exc:
            logger.info("tcp connect to %s failed: %s", peer, exc)
            self._pending.pop(peer, None)
            self._lost(peer)
            return
        queued = self._pending.pop(peer, [])
        conn = self._tcp.get(peer)
        for data in queued:
            if conn is not None:
                conn.write(data)

    def _deliver(self, data: bytes, peer: Peer) -> None:
        try:
            self.on_data(data, peer)
        except Exception:  # a bug above must not kill the socket's protocol
            logger.exception("SIP handler failed on a message from %s", peer)

    def _lost(self, peer: Peer) -> None:
        if self.on_error is not None:
            try:
                self.on_error(peer)
            except Exception:
                logger.exception("SIP transport error handler failed")
