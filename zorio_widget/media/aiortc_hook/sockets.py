"""The socket path: what the relay changes in how aioice and asyncio read and write UDP.

Two aioice patches serve the synchronous receive path (``receive.py``): media datagrams are not
first tried as STUN (``_stun_datagram_received``), and asyncio reads each datagram into a 64 KiB
buffer rather than 256 KiB (``_stun_connection_made``).

The native relay (``native/_fastrelay.c``, armed by ``native.routes``) takes the steady state of the
relay into C. Its aiortc and aioice half is here: what a route's aiortc sides need
(``native_ingress_parts``: the receiver's SRTP session and statistics; ``native_egress_parts``: the
sender's SRTP session, counters, the nominated pair's socket), ``install_native_readers`` lets the
connection's sockets be read by ``fastrelay.Reader`` instead of asyncio's datagram transport
(``read_natively``, through the selector loop's private ``_add_reader``, checked by the tripwire;
a trunk leg's RTP socket is read the same way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, cast

from aioice.ice import StunProtocol
from aiortc import RTCRtpReceiver
from aiortc import clock as aiortc_clock

from ..native import fastrelay
from .inventory import (
    ACTIVE_MS_ATTR,
    ASYNCIO_DATAGRAM_TRANSPORT,
    DTLS_CONNECTED,
    FAST_RECEIVE_ATTR,
    READER_ATTR,
    RECEIVER_ACTIVE_SSRC,
    RECEIVER_CODECS,
    RECEIVER_REMOTE_STREAMS,
    SINK_ATTR,
    TAP_MARK,
    asyncio_private,
)
from .send import DirectSend

UDP_RECV_BUFFER: Final = 65536
"Bytes asyncio reads a datagram into (see ``_stun_connection_made``)."

_original_datagram_received: Callable[..., Any] | None = None
"aioice's own ``StunProtocol.datagram_received``, once ``patch`` replaced it."
_original_connection_made: Callable[..., Any] | None = None
"aioice's own ``StunProtocol.connection_made``, once ``patch`` replaced it."


def patch() -> None:
    """Replace aioice's ``StunProtocol.datagram_received`` and ``connection_made`` (``install``
    calls it once)."""
    global _original_datagram_received, _original_connection_made
    _original_datagram_received = StunProtocol.datagram_received
    _original_connection_made = StunProtocol.connection_made
    setattr(_stun_datagram_received, TAP_MARK, True)
    setattr(_stun_connection_made, TAP_MARK, True)
    StunProtocol.datagram_received = _stun_datagram_received  # type: ignore[assignment]
    StunProtocol.connection_made = _stun_connection_made  # type: ignore[method-assign]


def _stun_datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
    """Replacement for aioice's ``StunProtocol.datagram_received``: RTP and RTCP (first byte
    128-191, RFC 7983; STUN's is 0-3) go to the connection without first being tried as STUN."""
    if data and cast(bytes, data)[0] & 0xC0 == 0x80:
        self.receiver.data_received(cast(bytes, data), self.local_candidate.component)
        return
    assert _original_datagram_received is not None
    _original_datagram_received(self, data, addr)


def _stun_connection_made(self: StunProtocol, transport: asyncio.BaseTransport) -> None:
    """Replacement for aioice's ``StunProtocol.connection_made``: asyncio's selector transport
    reads every datagram into a fresh ``max_size`` buffer, 256 KiB by default. That is above
    glibc's mmap threshold, so each received packet cost an mmap/munmap pair and page faults
    (~40 us of kernel time per packet here, bench/RESULTS.md). 64 KiB is still more than the
    largest UDP payload (65507 bytes), so nothing can be truncated, and stays on the heap."""
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = UDP_RECV_BUFFER  # type: ignore[attr-defined]
    assert _original_connection_made is not None
    _original_connection_made(self, transport)


# -- the native relay (``native/srtp_side.c``): aiortc's half of a Route -----------------------------
#
# A ``fastrelay.Route`` relays one leg's SSRC to one listener's stream in C, reading and writing
# the same attributes as the Python path (so the two alternate freely, packet by packet). What its
# aiortc sides (``SrtpIngress``, ``SrtpEgress``) need of aiortc and aioice is gathered here;
# ``native.routes`` adds the leg and the track's timeline.


def native_receive(receiver: RTCRtpReceiver) -> Any:
    """The native ``Receive`` installed on ``receiver``'s connection, or ``None``."""
    connection = getattr(getattr(receiver.transport, "transport", None), "_connection", None)
    fast = getattr(connection, FAST_RECEIVE_ATTR, None)
    return fast if fastrelay is not None and isinstance(fast, fastrelay.Receive) else None


def install_native_readers(receiver: RTCRtpReceiver) -> int:
    """Let ``fastrelay.Reader`` read the UDP sockets of ``receiver``'s ICE connection instead
    of asyncio's ``_read_ready`` (see ``native/_fastrelay.c``); returns how many it took over.
    Call it once the connection is up (the sockets exist)."""
    receive = native_receive(receiver)
    connection = getattr(getattr(receiver.transport, "transport", None), "_connection", None)
    if receive is None or connection is None:
        return 0
    return sum(
        read_natively(getattr(protocol, "transport", None), protocol, receive)
        for protocol in list(connection._protocols)
        if type(protocol) is StunProtocol
    )


def read_natively(transport: Any, protocol: asyncio.BaseProtocol, receive: Any, counts_fallbacks: bool = False) -> bool:
    """Register a ``fastrelay.Reader`` for ``transport``'s socket in place of asyncio's reader:
    ``receive``'s route takes its packets, the rest go to ``protocol.datagram_received`` as
    asyncio would hand them (``counts_fallbacks``: the Reader counts those, for a protocol that does
    not reach ``receive`` itself). Only plain sockets of asyncio's selector loops, once per protocol;
    the transport's ``close`` removes the reader as it would its own. Returns whether it took it."""
    from asyncio import selector_events

    datagram_transport = asyncio_private(ASYNCIO_DATAGRAM_TRANSPORT)
    if (
        fastrelay is None
        or not isinstance(transport, datagram_transport)
        or transport.is_closing()
        or getattr(protocol, READER_ATTR, None) is not None
    ):
        return False
    loop: Any = transport._loop
    if not isinstance(loop, selector_events.BaseSelectorEventLoop):
        return False
    reader = fastrelay.Reader(transport._sock_fd, receive, protocol, transport, counts_fallbacks=counts_fallbacks)
    loop._add_reader(transport._sock_fd, reader)  # type: ignore[attr-defined]
    setattr(protocol, READER_ATTR, reader)
    return True


def native_ingress_parts(receiver: RTCRtpReceiver, ssrc: int, payload_type: int) -> dict[str, Any] | None:
    """The aiortc/aioice arguments of a ``fastrelay.SrtpIngress`` taking ``receiver``'s ``ssrc``,
    or ``None`` where the Python path must keep the packets (no native receive, keys or
    statistics yet)."""
    from pylibsrtp._binding import ffi, lib

    if fastrelay is None or native_receive(receiver) is None:
        return None
    dtls_rx = receiver.transport
    rx_srtp = dtls_rx._rx_srtp
    stats = getattr(receiver, RECEIVER_REMOTE_STREAMS).get(ssrc)
    seen_ms = receiver.__dict__.get(ACTIVE_MS_ATTR)
    codec = getattr(receiver, RECEIVER_CODECS).get(payload_type)
    if rx_srtp is None or stats is None or seen_ms is None or codec is None:
        return None
    return {
        "dtls_rx": dtls_rx.__dict__,
        "rx_session": rx_srtp,
        "rx_ctx": int(ffi.cast("uintptr_t", rx_srtp._srtp[0])),
        "unprotect": int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_unprotect"))),
        "receiver": receiver.__dict__,
        "sink_key": SINK_ATTR,
        "sink": receiver.__dict__.get(SINK_ATTR),
        "stats": stats.__dict__,
        "seen_ms": seen_ms,
        "active": getattr(receiver, RECEIVER_ACTIVE_SSRC),
        "current_datetime": aiortc_clock.current_datetime,
        "ssrc": ssrc,
        "payload_type": payload_type,
        "clock_rate": float(codec.clockRate),
    }


def native_egress_parts(direct: DirectSend) -> dict[str, Any] | None:
    """The aiortc/aioice arguments of a ``fastrelay.SrtpEgress`` sending through ``direct``'s
    sender, or ``None`` where the Python path must send (not ready, a TURN pair, a scoped address...)."""
    from pylibsrtp._binding import ffi, lib

    if fastrelay is None or not direct.ready():
        return None
    tx_srtp = direct._dtls._tx_srtp
    sock = direct._pair.protocol.transport.get_extra_info("socket")
    host, port = direct._remote
    if tx_srtp is None or sock is None or "%" in host:  # a scoped IPv6 address: let asyncio resolve it
        return None
    return {
        "direct": direct,
        "sender": direct._sender.__dict__,
        "dtls_tx": direct._dtls.__dict__,
        "tx_session": tx_srtp,
        "tx_ctx": int(ffi.cast("uintptr_t", tx_srtp._srtp[0])),
        "protect": int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect"))),
        "connected": DTLS_CONNECTED,
        "nominated": direct._connection._nominated,
        "pair": direct._pair,
        "sock": sock,
        "remote_host": host,
        "remote_port": port,
        "out_ssrc": direct._sender._ssrc,
        "out_payload_type": direct._payload_type,
        "timestamp_origin": direct.timestamp_origin,
        "block": direct._block,
        "clock_divisor": direct._clock_divisor,
    }
