"""The bridge's packet path: which legs hear a leg's packets, and the push of each packet to them.

The fan-out is not a second table: ``Relay.listeners`` is derived from the sources the rules
applied (the bridge calls ``index`` after each), so one party can be heard by many (a scenario's
``send_media_to``) while each leg hears exactly one stream. A packet goes to a listener as it is
when both speak its codec (a push of the encoded payload into the listener's outbound track: no
decoding, no jitter buffer, < 1 ms added, docs/MEDIA-NOTES.md), otherwise through a converter of
that direction (``transcoding.Transcoders``). When a browser or trunk leg relays plainly to one
browser or trunk listener (``NATIVE_LEGS``), the native route is armed (``native.routes``) so the
following packets may skip Python; a second listener disarms it (a route relays to one listener only).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..aiortc_hook import ReceivedPacket
from ..native import routes as native_routes
from ..transcoding import Transcoders
from .bridged import NATIVE_LEGS, BridgedMedia
from .rules import LegMedia

MIME_TYPES = {"opus": "audio/opus", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}
"An outbound track's ``audio_codec`` -> the ``mime_type`` of the received packets it takes as they are."


class Relay:
    """Relays each received packet of a leg to the legs that hear it (the bridge's ``on_packet``)."""

    def __init__(self, legs: Mapping[str, LegMedia], transcoders: Transcoders) -> None:
        self._legs = legs
        "The bridge's record per leg (read only here)."
        self._transcoders = transcoders
        self.listeners: dict[str, list[BridgedMedia]] = {}
        "Leg id -> the legs whose applied source relays its packets (kept by ``index``/``unindex``)."

    def listeners_of(self, leg: BridgedMedia) -> list[BridgedMedia]:
        """The legs that hear ``leg`` now."""
        return list(self.listeners.get(leg.id, ()))

    def index(self, state: LegMedia, heard: str | None) -> None:
        """Keeps ``listeners`` in step with the applied source of ``state``'s leg."""
        if state.heard == heard:
            return
        self.unindex(state.leg, as_origin=False)
        state.heard = heard
        if heard is None:
            return
        listeners = self.listeners.setdefault(heard, [])
        listeners.append(state.leg)
        origin = self._legs.get(heard)
        if len(listeners) > 1 and origin is not None and isinstance(origin.leg, NATIVE_LEGS):
            native_routes.disarm(origin.leg)  # a native route relays to one listener only

    def unindex(self, leg: BridgedMedia, as_origin: bool = True) -> None:
        """``leg`` hears no one (and, ``as_origin``, no one hears it): its entries and converters go."""
        state = self._legs.get(leg.id)
        heard = state.heard if state is not None else None
        if heard is not None:
            self._transcoders.drop(heard, leg.id)
        if as_origin:
            self._transcoders.forget(leg.id)
        for origin_id in ([heard] if heard is not None else list(self.listeners)):
            listeners = self.listeners.get(origin_id)
            if listeners is not None and leg in listeners:
                listeners.remove(leg)
                if not listeners:
                    del self.listeners[origin_id]
        if state is not None:
            state.heard = None
        if as_origin:
            self.listeners.pop(leg.id, None)

    def on_packet(self, leg: BridgedMedia, packet: ReceivedPacket) -> None:
        """One received packet of ``leg``: its taps, then whoever hears it (echo: itself)."""
        state = self._legs.get(leg.id)
        if state is None or state.muted:
            return
        if state.tap is not None:
            state.tap(packet.payload, packet.timestamp)
        listeners = self.listeners.get(leg.id)
        if not listeners:
            return
        if len(listeners) > 1:
            for target in tuple(listeners):
                self._push(leg, target, packet)
            return
        target = listeners[0]
        if self._push(leg, target, packet) and isinstance(leg, NATIVE_LEGS) and isinstance(target, NATIVE_LEGS):
            native_routes.arm(leg, packet, target)  # the following packets may skip Python

    def _push(self, leg: BridgedMedia, target: BridgedMedia, packet: ReceivedPacket) -> bool:
        """``packet`` to ``target`` as it is, or converted when ``target`` speaks another codec."""
        outbound = target.outbound
        codec = outbound.audio_codec
        if MIME_TYPES.get(codec) != packet.mime_type:
            self._transcoders.relay(leg.id, target, packet, codec)
            return False
        return outbound.push(leg.id, packet.ssrc, packet.timestamp, packet.payload)
