"""When the relay's steady state may run in native code (``_fastrelay.c``), and what it touches.

Why: issue #3's budget is 0.7% of a core per call; the Python relay path costs ~1.2-1.8% on a
loaded server (bench/RESULTS.md). A plain relay does the same work for every packet, so once the
Python path has relayed a packet of ``leg``'s SSRC *directly* (``OutboundAudio.push`` returned
``True``: the listener's sender was parked waiting for exactly this), ``arm`` hands the next ones
to a ``_fastrelay.Route`` on ``leg``'s connection. The route reads and writes the attributes the
Python path uses (``ATTRIBUTES`` below, plus aiortc's in ``aiortc_hook.native_route_parts``) and
checks before every packet that the Python path would do exactly what it does; any change
(mute, hold, a DTMF event or tone, a source switch, in-band detection, a timestamp jump, a new SSRC,
renegotiation, closing) sends packets back to the Python path, which arms again when it relays
directly again. ``disarm`` only releases references early.

``ZORIO_NATIVE_RELAY=off`` (or an unbuilt extension) keeps every packet on the Python path.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Final

from . import aiortc_hook
from .aiortc_hook import ReceivedPacket
from .outbound import MAX_FORWARD_JUMP, MAX_FORWARD_REORDER, OutboundAudio

if TYPE_CHECKING:
    from .leg import MediaLeg

logger = logging.getLogger(__name__)

ENV_SWITCH: Final = "ZORIO_NATIVE_RELAY"
ATTRIBUTES: Final = {
    "MediaLeg": ("on_packet", "_inband", "packets_received"),
    "OutboundAudio": (
        "_source", "_waiter", "_forwarded", "_overlay", "_dtmf_events", "_in_event", "direct_send",
        "_last_key", "_last_src_ts", "_last_pts", "_high_pts", "_last_sent_at", "_gen_deadline",
        "packets_sent", "forwarded", "recent_forward_delays_s",
    ),
}
"""Our own attributes the native route reads or writes (tests check they exist)."""

def available() -> bool:
    """Whether the native module is built (``make`` builds it; see setup.py)."""
    return aiortc_hook._fastrelay is not None


enabled: bool = available() and os.environ.get(ENV_SWITCH, "on").lower() not in ("0", "off", "false", "no")
"""Whether ``arm`` creates routes (tests switch it off to exercise the Python path)."""


def _receive_of(leg: MediaLeg) -> Any:
    """The native ``Receive`` on ``leg``'s connection, or ``None``."""
    receiver = leg.receiver
    return aiortc_hook.native_receive(receiver) if receiver is not None else None


def arm(leg: MediaLeg, packet: ReceivedPacket, listener: OutboundAudio) -> bool:
    """After ``packet`` of ``leg`` went straight out on ``listener``: let a native route carry
    the following ones. Returns whether a route is armed (new or already there)."""
    if not enabled or packet.mime_type != "audio/opus":
        return False
    receiver = leg.receiver
    direct = listener.direct_send
    if receiver is None or direct is None or leg.on_packet is None or leg.inband_dtmf_detection:
        return False
    receive = aiortc_hook.native_receive(receiver)
    if receive is None:
        return False
    current = receive.route
    if (
        current is not None
        and current.armed
        and current.ssrc == packet.ssrc
        and current.direct is direct
        and current.source is listener.source
    ):
        return True
    parts = aiortc_hook.native_route_parts(receiver, packet.ssrc, packet.payload_type, direct)
    if parts is None:
        return False
    try:
        route = aiortc_hook._fastrelay.Route(
            **parts,
            leg=leg.__dict__,
            on_packet=leg.on_packet,
            track=listener.__dict__,
            source=listener.source,
            key=listener._last_key,
            delays_append=listener.recent_forward_delays_s.append,
            max_reorder=MAX_FORWARD_REORDER,
            max_jump=MAX_FORWARD_JUMP,
        )
    except (TypeError, ValueError) as exc:
        logger.warning("[leg %s] native relay not armed: %s", leg.id, exc)
        return False
    if current is not None:
        current.disarm()
    receive.route = route
    aiortc_hook.install_native_readers(receiver)
    listener.native_routes = [r for r in listener.native_routes if r.armed] + [route]
    logger.debug("[leg %s] native relay armed for ssrc %d", leg.id, packet.ssrc)
    return True


def disarm(leg: MediaLeg) -> None:
    """Release the route on ``leg``'s connection, if any (closing, renegotiation)."""
    receive = _receive_of(leg)
    if receive is not None and receive.route is not None:
        receive.route.disarm()
        receive.route = None


def counters(leg: MediaLeg) -> dict[str, int]:
    """Packets ``leg``'s connection relayed natively, gave to Python, dropped, failed to send."""
    receive = _receive_of(leg)
    if receive is None:
        return {"relayed": 0, "fallbacks": 0, "dropped": 0, "send_errors": 0}
    return {
        "relayed": receive.relayed,
        "fallbacks": receive.fallbacks,
        "dropped": receive.dropped,
        "send_errors": receive.send_errors,
    }


def route_of(leg: MediaLeg) -> Any:
    """The route armed on ``leg``'s connection, or ``None`` (tests, diagnostics)."""
    receive = _receive_of(leg)
    route = receive.route if receive is not None else None
    return route if route is not None and route.armed else None
