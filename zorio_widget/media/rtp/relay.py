"""A trunk leg's half of a native route (``native/rtp_side.c``): what an ``RtpIngress`` and an
``RtpEgress`` are given, and the socket they read.

``native.routes.arm`` decides when a route may be armed and joins its two halves; this module only
gathers, from an ``RtpSession`` and its ``RtpOutbound``, the objects the C reads and writes (their
``SessionState`` and ``StreamState``, ``state.py``) and what it checks them against, or says
``None`` where the Python path must keep the packets (not latched, not connected, paused, a
non-numeric address...). ``hold_route`` gives the session the ``fastrelay.Receive`` that holds its
route and lets a ``fastrelay.Reader`` read its socket instead of asyncio (``aiortc_hook.read_natively``).
"""

from __future__ import annotations

from typing import Any

from ..aiortc_hook import read_natively
from ..native import fastrelay
from .sender import MAX_FORWARD_JUMP
from .session import RtpSession

CONNECTED = "connected"


def ingress(session: RtpSession, ssrc: int, payload_type: int) -> Any:
    """An ``RtpIngress`` taking ``session``'s packets of ``ssrc`` from the latched far end, or
    ``None`` where the Python path must keep them."""
    shared = session.shared
    codec = shared.codec
    remote = shared.remote_address
    if (
        fastrelay is None
        or not shared.open
        or shared.state != CONNECTED
        or not shared.latched
        or remote is None
        or "%" in remote[0]
        or codec is None
        or codec.payload_type != payload_type
        or shared.on_packet is None
        or session.transport is None
    ):
        return None
    return fastrelay.RtpIngress(session=shared, on_packet=shared.on_packet, remote=remote, codec=codec,
                                state=shared.state, ssrc=ssrc, payload_type=payload_type, tap=shared.packet_tap)


def egress(session: RtpSession) -> Any:
    """An ``RtpEgress`` sending on ``session``'s outbound stream what it relays now, or ``None``
    where ``RtpOutbound.push`` must keep sending (paused, stopped, nothing relayed yet...)."""
    shared, stream = session.shared, session.outbound.stream
    remote = shared.remote_address
    transport = session.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if (
        fastrelay is None
        or sock is None
        or not shared.open
        or remote is None
        or "%" in remote[0]
        or stream.paused
        or stream.stopped
        or stream.last_key is None
        or stream.source.kind != "forward"
    ):
        return None
    return fastrelay.RtpEgress(stream=stream, session=shared, source=stream.source, key=stream.last_key,
                               codec=stream.codec, remote=remote, sock=sock, payload_type=stream.codec.payload_type,
                               max_jump=MAX_FORWARD_JUMP)


def receive_of(session: RtpSession) -> Any:
    """The ``fastrelay.Receive`` holding the route armed on ``session``'s socket, or ``None``."""
    return session.native_receive


def hold_route(session: RtpSession) -> Any:
    """The session's route holder, created (with a ``Reader`` on its socket) on first use; ``None``
    when its socket cannot be read natively (not asyncio's selector transport, closed)."""
    receive = session.native_receive
    if receive is not None or fastrelay is None:
        return receive
    transport = session.transport
    if transport is None:
        return None
    receive = fastrelay.Receive(None)
    if not read_natively(transport, transport.get_protocol(), receive, counts_fallbacks=True):
        return None
    session.native_receive = receive
    return receive
