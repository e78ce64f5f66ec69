"""When the relay's steady state may run in native code (``_fastrelay.c``), and what it touches.

Why: issue #3's budget is 0.7% of a core per browser call, issue #13's 0.6% per trunk call; the
Python relay path costs more on a loaded server (bench/RESULTS.md). A plain relay does the same
work for every packet, so once the Python path has relayed a packet of ``leg``'s SSRC *directly*
(the listener's outbound ``push`` returned ``True``: it went out at once), ``arm`` hands the next
ones to a ``fastrelay.Route``: an ingress of ``leg``'s kind and an egress of the listener's.

- a browser leg (``leg.MediaLeg``): ``SrtpIngress`` / ``SrtpEgress``, from aiortc's objects
  (``aiortc_hook.native_ingress_parts`` / ``native_egress_parts``), the leg's ``LEG_ATTRIBUTES``
  below and the listening track's ``Timeline`` (``media/timeline.py``);
- a trunk leg (``rtp.RtpLeg``): ``RtpIngress`` / ``RtpEgress`` on its session's ``SessionState``
  and its outbound's ``StreamState`` (``rtp/state.py``, gathered by ``rtp.relay``).

So trunk -> browser, browser -> trunk, browser <-> browser and a trunk leg's echo all run in C
once plain. The route checks before every packet that the Python path would do exactly what it
does; any change (mute, hold, a DTMF event or tone, a source switch, in-band detection, a
timestamp jump, a new SSRC or source address, renegotiation, closing) sends packets back to the
Python path, which arms again when it relays directly again. ``disarm`` only releases references
early. The bridge alone decides who hears what: it calls ``arm`` only for a leg with one listener,
and ``disarm`` when a second one starts listening.

``native.enabled`` (``ZORIO_NATIVE_RELAY=off``, or an unbuilt extension) keeps every packet on the
Python path.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Protocol

from .. import aiortc_hook, native
from ..aiortc_hook import ReceivedPacket
from ..outbound import OutboundAudio
from ..rtp import relay as rtp_relay
from ..rtp.leg import RtpLeg
from ..rtp.sender import RtpOutbound
from ..timeline import MAX_FORWARD_JUMP, MAX_FORWARD_REORDER
from . import fastrelay

logger = logging.getLogger(__name__)

LEG_ATTRIBUTES: Final = ("on_packet", "_inband", "packet_tap", "packets_received")
"""What the native route reads or writes of the receiving ``MediaLeg``'s ``__dict__`` (tests check
they exist): its packet callback, its in-band DTMF decoder (``None``: off), the bridge's taps on it
(called with each payload; the route relays only while it is the one it was armed with), its
packet count."""


class RelayedLeg(Protocol):
    """What the bridge hands ``arm`` (any ``BridgedMedia``): a route is armed only from and to a
    ``leg.MediaLeg`` (its ``receiver``) or an ``rtp.RtpLeg`` (its ``session``); the route itself
    uses the objects named in the module docstring."""

    @property
    def id(self) -> str: ...

    @property
    def outbound(self) -> Any: ...


def _receive_of(leg: Any) -> Any:
    """The native ``Receive`` holding ``leg``'s route, or ``None``."""
    if isinstance(leg, RtpLeg):
        return leg.session.native_receive
    receiver = getattr(leg, "receiver", None)
    return aiortc_hook.native_receive(receiver) if receiver is not None else None


def _target_of(listener: Any) -> Any:
    """What an egress to ``listener`` writes: its ``DirectSend``, or its ``StreamState``."""
    return listener.stream if isinstance(listener, RtpOutbound) else getattr(listener, "direct_send", None)


def arm(leg: RelayedLeg, packet: ReceivedPacket, target: RelayedLeg) -> bool:
    """After ``packet`` of ``leg`` went straight out on ``target``'s outbound: let a native route
    carry the following ones. Returns whether a route is armed (new or already there)."""
    listener = target.outbound
    if not native.enabled or fastrelay is None or not isinstance(listener, (OutboundAudio, RtpOutbound)):
        return False
    receive = _receive_of(leg)
    current = receive.route if receive is not None else None
    if (
        current is not None
        and current.armed
        and current.ssrc == packet.ssrc
        and current.target is _target_of(listener)
        and current.source is listener.source
        and current.tap is getattr(leg, "packet_tap", None)
    ):
        return True
    try:  # the egress first: it says no cheaply while the listener cannot take a route (paused...)
        egress = _egress(target, listener)
        ingress = _ingress(leg, packet) if egress is not None else None
        if ingress is None or egress is None:
            return False
        route = fastrelay.Route(ingress, egress)
    except (TypeError, ValueError) as exc:
        logger.warning("[leg %s] native relay not armed: %s", leg.id, exc)
        return False
    receive = _hold_route(leg)
    if receive is None:
        return False
    if receive.route is not None:
        receive.route.disarm()
    receive.route = route
    listener.native_routes = [r for r in listener.native_routes if r.armed] + [route]
    logger.debug("[leg %s] native relay armed for ssrc %d to leg %s", leg.id, packet.ssrc, target.id)
    return True


def _ingress(leg: Any, packet: ReceivedPacket) -> Any:
    if isinstance(leg, RtpLeg):
        return rtp_relay.ingress(leg.session, packet.ssrc, packet.payload_type)
    receiver = getattr(leg, "receiver", None)
    if receiver is None or leg.on_packet is None or leg.inband_dtmf_detection:
        return None
    parts = aiortc_hook.native_ingress_parts(receiver, packet.ssrc, packet.payload_type)
    if parts is None:
        return None
    return fastrelay.SrtpIngress(**parts, leg=leg.__dict__, on_packet=leg.on_packet, tap=leg.packet_tap)


def _egress(target: Any, listener: Any) -> Any:
    if isinstance(listener, RtpOutbound):
        return rtp_relay.egress(target.session) if isinstance(target, RtpLeg) else None
    direct = listener.direct_send
    parts = aiortc_hook.native_egress_parts(direct) if direct is not None else None
    timeline = listener.timeline
    if parts is None or timeline.last_key is None:
        return None
    return fastrelay.SrtpEgress(
        **parts,
        timeline=timeline,
        source=timeline.source,
        key=timeline.last_key,
        delays_append=listener.recent_forward_delays_s.append,
        max_reorder=MAX_FORWARD_REORDER,
        max_jump=MAX_FORWARD_JUMP,
        timestamp_scale=listener.timestamp_scale,
    )


def _hold_route(leg: Any) -> Any:
    """``leg``'s route holder, its socket(s) read natively from now on."""
    if isinstance(leg, RtpLeg):
        return rtp_relay.hold_route(leg.session)
    receive = _receive_of(leg)
    if receive is not None:
        aiortc_hook.install_native_readers(leg.receiver)
    return receive


def disarm(leg: Any) -> None:
    """Release the route on ``leg``'s socket, if any (closing, renegotiation, a second listener)."""
    receive = _receive_of(leg)
    if receive is not None and receive.route is not None:
        receive.route.disarm()
        receive.route = None


def counters(leg: Any) -> dict[str, int]:
    """Packets ``leg``'s socket relayed natively, gave to Python, dropped, failed to send."""
    receive = _receive_of(leg)
    if receive is None:
        return {"relayed": 0, "fallbacks": 0, "dropped": 0, "send_errors": 0}
    return {
        "relayed": receive.relayed,
        "fallbacks": receive.fallbacks,
        "dropped": receive.dropped,
        "send_errors": receive.send_errors,
    }


def route_of(leg: Any) -> Any:
    """The route armed on ``leg``'s socket, or ``None`` (tests, diagnostics)."""
    receive = _receive_of(leg)
    route = receive.route if receive is not None else None
    return route if route is not None and route.armed else None
