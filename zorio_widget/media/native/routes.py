"""When the relay's steady state may run in native code (``_fastrelay.c``), and what it touches.

Why: issue #3's budget is 0.7% of a core per call; the Python relay path costs ~1.2-1.8% on a
loaded server (bench/RESULTS.md). A plain relay does the same work for every packet, so once the
Python path has relayed a packet of ``leg``'s SSRC *directly* (``OutboundAudio.push`` returned
``True``: the listener's sender was parked waiting for exactly this), ``arm`` hands the next ones
to a ``fastrelay.Route`` on ``leg``'s connection. The route reads and writes what the Python path
uses: the listener's ``Timeline`` (``media/timeline.py``), the leg's ``LEG_ATTRIBUTES`` below and
aiortc's attributes (``aiortc_hook.native_route_parts``). It checks before every packet that the
Python path would do exactly what it does; any change (mute, hold, a DTMF event or tone, a source
switch, in-band detection, a timestamp jump, a new SSRC, renegotiation, closing) sends packets back
to the Python path, which arms again when it relays directly again. ``disarm`` only releases
references early.

``native.enabled`` (``ZORIO_NATIVE_RELAY=off``, or an unbuilt extension) keeps every packet on the
Python path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final, Protocol

from .. import aiortc_hook, native
from ..aiortc_hook import ReceivedPacket
from ..outbound import OutboundAudio
from ..timeline import MAX_FORWARD_JUMP, MAX_FORWARD_REORDER
from . import fastrelay

logger = logging.getLogger(__name__)

LEG_ATTRIBUTES: Final = ("on_packet", "_inband", "packet_tap", "packets_received")
"""What the native route reads or writes of the receiving ``MediaLeg``'s ``__dict__`` (tests check
they exist): its packet callback, its in-band DTMF decoder (``None``: off), the bridge's taps on it
(called with each payload; the route relays only while it is the one it was armed with), its
packet count."""


class RelayedLeg(Protocol):
    """What arming needs of a leg (a ``leg.MediaLeg``); the route itself uses its ``__dict__``."""

    @property
    def id(self) -> str: ...

    @property
    def on_packet(self) -> Callable[..., None] | None: ...

    @property
    def receiver(self) -> Any: ...

    @property
    def inband_dtmf_detection(self) -> bool: ...

    @property
    def packet_tap(self) -> Callable[[bytes, int], object] | None: ...


def _receive_of(leg: RelayedLeg) -> Any:
    """The native ``Receive`` on ``leg``'s connection, or ``None``."""
    receiver = leg.receiver
    return aiortc_hook.native_receive(receiver) if receiver is not None else None


def arm(leg: RelayedLeg, packet: ReceivedPacket, listener: OutboundAudio) -> bool:
    """After ``packet`` of ``leg`` went straight out on ``listener``: let a native route carry
    the following ones. Returns whether a route is armed (new or already there)."""
    if not native.enabled or packet.mime_type != "audio/opus" or listener.audio_codec != "opus":
        return False
    receiver = leg.receiver
    direct = listener.direct_send
    if receiver is None or direct is None or leg.on_packet is None or leg.inband_dtmf_detection:
        return False
    receive = aiortc_hook.native_receive(receiver)
    if receive is None or fastrelay is None:
        return False
    current = receive.route
    if (
        current is not None
        and current.armed
        and current.ssrc == packet.ssrc
        and current.direct is direct
        and current.source is listener.source
        and current.tap is leg.packet_tap
    ):
        return True
    parts = aiortc_hook.native_route_parts(receiver, packet.ssrc, packet.payload_type, direct)
    if parts is None:
        return False
    timeline = listener.timeline
    try:
        route = fastrelay.Route(
            **parts,
            leg=leg.__dict__,
            on_packet=leg.on_packet,
            timeline=timeline,
            source=timeline.source,
            key=timeline.last_key,
            delays_append=listener.recent_forward_delays_s.append,
            max_reorder=MAX_FORWARD_REORDER,
            max_jump=MAX_FORWARD_JUMP,
            tap=leg.packet_tap,
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


def disarm(leg: RelayedLeg) -> None:
    """Release the route on ``leg``'s connection, if any (closing, renegotiation)."""
    receive = _receive_of(leg)
    if receive is not None and receive.route is not None:
        receive.route.disarm()
        receive.route = None


def counters(leg: RelayedLeg) -> dict[str, int]:
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


def route_of(leg: RelayedLeg) -> Any:
    """The route armed on ``leg``'s connection, or ``None`` (tests, diagnostics)."""
    receive = _receive_of(leg)
    route = receive.route if receive is not None else None
    return route if route is not None and route.armed else None
