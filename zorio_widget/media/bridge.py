"""``Bridge``: who hears what, for the legs of the calls of this process.

A ``Bridge`` is an object: the call layer's switchboard owns the process's one and hands it to
every call (no module global). A leg is forgotten when it closes.

The call layer says what should happen (connect, echo, play, mute, hold); the bridge keeps the
one record per leg of who hears what (peer, mode, mute, hold: the call layer reads them back
through ``is_muted``/``is_holding``, it keeps no copy) and computes every leg's outbound source
in ONE place (``_source_for``), then applies it. Relaying is a push of the encoded packet into the listener's outbound track:
no decoding, no jitter buffer, < 1 ms added (DESIGN.md §4b).

Semantics:
- ``connect(a, b)``: a hears b and b hears a. ``play``/``echo`` on a connected leg first
  disconnects the pair (its former peer then hears silence).
- ``mute(leg)``: the server stops relaying ``leg``'s audio (its listener hears silence), even if
  the client keeps sending. Survives hold/unhold.
- ``hold(holder)``: the held party hears music, the holder hears silence; nothing is relayed
  either way until ``unhold(holder)``.
- ``replace(old, new)``: ``new`` (a fresh peer connection of the same party) takes ``old``'s
  place with its peer, mode, mute and hold.
- ``send_dtmf(leg, digits)``: digits sent *to* ``leg`` (what its client gets): RFC 4733 events
  when its remote negotiated telephone-event (``leg.telephone_event``; ~100 ms per digit, then
  ~80 ms of whatever it hears), else in-band dual tones (100 ms on / 80 ms off) over whatever it
  was hearing, which resumes afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .aiortc_hook import ReceivedPacket
from .clips import DTMF_DIGITS, FRAME_S, load_clip
from .dtmf import telephone_event_packets
from .leg import MediaLeg
from .native import routes as native_routes
from .outbound import OutboundAudio
from .timeline import SILENCE, Source

logger = logging.getLogger(__name__)

PLAYABLE = ("ringback", "music", "silence")
HOLD_CLIP = "music"


class BridgedMedia(Protocol):
    """What the bridge needs of a leg's media: an id, the one outbound track it switches, a hook
    for received packets, the negotiated telephone-event and a close notification. ``MediaLeg``
    (aiortc) is one; a leg of another kind (an RTP session) is bridged by being one too."""

    @property
    def id(self) -> str: ...

    @property
    def outbound(self) -> OutboundAudio: ...

    on_packet: Callable[[Any, ReceivedPacket], None] | None

    @property
    def telephone_event(self) -> tuple[int, int] | None: ...

    def add_close_listener(self, listener: Callable[[Any], None]) -> None: ...


@dataclass(slots=True)
class _LegMedia:
    """What the bridge knows about one leg."""

    leg: BridgedMedia
    peer: BridgedMedia | None = None
    "The leg this one is connected to."
    mode: str = "silence"
    "``connected``, ``echo``, or a clip name."
    muted: bool = False
    holding: bool = False
    "This leg has put its peer on hold."
    history: list[str] = field(default_factory=list)
    "Applied sources, oldest first (kept short; useful in tests and logs)."


class Bridge:
    """Routes encoded audio between legs and chooses each leg's outbound source."""

    def __init__(self) -> None:
        self._legs: dict[str, _LegMedia] = {}

    # -- queries -------------------------------------------------------------------------------

    def peer_of(self, leg: BridgedMedia) -> BridgedMedia | None:
        state = self._legs.get(leg.id)
        return state.peer if state else None

    def source_of(self, leg: BridgedMedia) -> Source:
        """What ``leg``'s client currently hears."""
        return leg.outbound.source

    def is_muted(self, leg: BridgedMedia) -> bool:
        state = self._legs.get(leg.id)
        return bool(state and state.muted)

    def is_holding(self, leg: BridgedMedia) -> bool:
        """Whether ``leg``'s party has put its peer on hold."""
        state = self._legs.get(leg.id)
        return bool(state and state.holding)

    def is_held(self, leg: BridgedMedia) -> bool:
        """Whether ``leg``'s call is on hold (by either party)."""
        state = self._legs.get(leg.id)
        return bool(state and (state.holding or (state.peer and self._state(state.peer).holding)))

    # -- commands ------------------------------------------------------------------------------

    def connect(self, a: BridgedMedia, b: BridgedMedia) -> None:
        """Relay a's audio to b and b's to a (encoded, no transcoding)."""
        if a is b:
            raise ValueError("cannot connect a leg to itself (use echo)")
        for leg in (a, b):
            self._detach_peer(leg)
        sa, sb = self._state(a), self._state(b)
        sa.peer, sb.peer = b, a
        sa.mode = sb.mode = "connected"
        sa.holding = sb.holding = False
        logger.info("[leg %s] connected to leg %s", a.id, b.id)
        self._apply(a, b)

    def disconnect(self, leg: BridgedMedia) -> None:
        """Stop relaying between ``leg`` and its peer; both hear silence."""
        peer = self._detach_peer(leg)
        self._state(leg).mode = "silence"
        self._apply(leg, *(p for p in (peer,) if p is not None))

    def echo(self, leg: BridgedMedia) -> None:
        """``*43``: the leg hears itself."""
        self._detach_peer(leg)
        self._state(leg).mode = "echo"
        self._apply(leg)

    def play(self, leg: BridgedMedia, name: str) -> None:
        """Loop ``ringback``, ``music`` (``*44``) or ``silence`` to the leg."""
        if name not in PLAYABLE:
            raise ValueError(f"cannot play {name!r}; choose one of {PLAYABLE}")
        self._detach_peer(leg)
        self._state(leg).mode = name
        self._apply(leg)

    def mute(self, leg: BridgedMedia) -> None:
        self._state(leg).muted = True
        self._apply(leg, *self._peer_list(leg))

    def unmute(self, leg: BridgedMedia) -> None:
        self._state(leg).muted = False
        self._apply(leg, *self._peer_list(leg))

    def hold(self, holder: BridgedMedia) -> None:
        """``holder`` puts its peer on hold: the peer hears music, nothing is relayed."""
        state = self._state(holder)
        if state.peer is None:
            raise ValueError(f"leg {holder.id} is not connected")
        state.holding = True
        self._apply(holder, state.peer)

    def unhold(self, holder: BridgedMedia) -> None:
        state = self._state(holder)
        state.holding = False
        self._apply(holder, *self._peer_list(holder))

    async def send_dtmf(self, leg: BridgedMedia, digits: str) -> float:
        """Send ``digits`` to ``leg``: RFC 4733 events if negotiated, else in-band tones.

        Returns the seconds it takes (queued). Raises ``ValueError`` for characters outside
        ``0-9 * # A-D``.
        """
        bad = [d for d in digits if d.upper() not in DTMF_DIGITS]
        if not digits or bad:
            raise ValueError(f"invalid DTMF digits {digits!r}")
        negotiated = leg.telephone_event
        if negotiated is not None:
            payload_type, clock_rate = negotiated
            events = [p for digit in digits.upper() for p in telephone_event_packets(digit, clock_rate)]
            leg.outbound.play_events(events, payload_type)
            logger.info("[leg %s] sending DTMF %s as RFC 4733 events (pt %d)", leg.id, digits, payload_type)
            return sum(p.gap_after_s + (0.0 if p.repeat else FRAME_S) for p in events)
        packets: list[bytes] = []
        for digit in digits.upper():
            packets.extend((await load_clip(f"dtmf:{digit}")).packets)
        leg.outbound.play_once(packets)
        logger.info("[leg %s] sending DTMF %s in-band", leg.id, digits)
        return len(packets) * 0.020

    def replace(self, old: BridgedMedia, new: BridgedMedia) -> None:
        """``new`` takes ``old``'s place: same peer, mode, mute and hold (a party's replaced peer
        connection, see the call layer's ``sdp.offer`` with ``replace``). ``old`` is forgotten."""
        state = self._legs.pop(old.id, None)
        if old.on_packet == self._on_packet:
            old.on_packet = None
        if state is None:
            return
        fresh = self._state(new)
        fresh.peer, fresh.mode, fresh.muted, fresh.holding = state.peer, state.mode, state.muted, state.holding
        if state.peer is not None:
            self._state(state.peer).peer = new
        logger.info("[leg %s] replaced by leg %s", old.id, new.id)
        self._apply(new, *self._peer_list(new))

    def remove(self, leg: BridgedMedia) -> None:
        """Forget ``leg`` (call it when the leg ends); its peer, if any, hears silence."""
        peer = self._detach_peer(leg)
        self._legs.pop(leg.id, None)
        if leg.on_packet == self._on_packet:
            leg.on_packet = None
        if peer is not None:
            self._apply(peer)

    # -- internals -----------------------------------------------------------------------------

    def _state(self, leg: BridgedMedia) -> _LegMedia:
        state = self._legs.get(leg.id)
        if state is None:
            state = self._legs[leg.id] = _LegMedia(leg=leg)
            leg.on_packet = self._on_packet
            leg.add_close_listener(self.remove)
        return state

    def _peer_list(self, leg: BridgedMedia) -> list[BridgedMedia]:
        peer = self._state(leg).peer
        return [peer] if peer is not None else []

    def _detach_peer(self, leg: BridgedMedia) -> BridgedMedia | None:
        state = self._legs.get(leg.id)
        if state is None or state.peer is None:
            return None
        peer = state.peer
        peer_state = self._state(peer)
        state.peer, state.holding = None, False
        peer_state.peer, peer_state.holding, peer_state.mode = None, False, "silence"
        logger.info("[leg %s] disconnected from leg %s", leg.id, peer.id)
        self._apply(peer)
        return peer

    def _source_for(self, state: _LegMedia) -> Source:
        """The one rule deciding what a leg hears."""
        if state.mode == "echo":
            return SILENCE if state.muted else Source("forward", origin=state.leg.id)
        if state.mode == "connected" and state.peer is not None:
            peer_state = self._state(state.peer)
            if state.holding:
                return SILENCE
            if peer_state.holding:
                return Source("clip", clip=HOLD_CLIP)
            if peer_state.muted:
                return SILENCE
            return Source("forward", origin=state.peer.id)
        if state.mode in PLAYABLE:
            return Source("clip", clip=state.mode)
        return SILENCE

    def _apply(self, *legs: BridgedMedia) -> None:
        for leg in legs:
            state = self._state(leg)
            source = self._source_for(state)
            if source != leg.outbound.source:
                logger.info("[leg %s] hears %s -> %s", leg.id, leg.outbound.source, source)
                state.history = [*state.history[-15:], str(source)]
            leg.outbound.set_source(source)

    def _on_packet(self, leg: BridgedMedia, packet: ReceivedPacket) -> None:
        """Relay one received Opus packet to whoever listens to ``leg`` (echo: itself)."""
        state = self._legs.get(leg.id)
        if state is None or state.muted:
            return
        target = leg if state.mode == "echo" else state.peer
        if (target is not None and target.outbound.push(leg.id, packet.ssrc, packet.timestamp, packet.payload)
                and isinstance(leg, MediaLeg)):  # the native path knows aiortc legs only
            native_routes.arm(leg, packet, target.outbound)  # the following packets may skip Python
