"""``Bridge``: who hears what, for the legs of the calls of this process.

A ``Bridge`` is an object: the call layer's switchboard owns the process's one and hands it to
every call (no module global). A leg is forgotten when it closes.

The call layer (and a scenario, through its ``Call``) says what should happen (connect, listen,
echo, play, mute, hold, tap); the bridge keeps the one record per leg of who hears what (peer,
mode, mute, hold: the call layer reads them back through ``is_muted``/``is_holding``, it keeps no
copy) and computes every leg's outbound source in ONE place (``_source_for``), then applies it.
That rule table also gives the relay its fan-out: each received packet goes to every leg whose
applied source is that packet's leg (``_listeners``), so one party can be heard by many (a
scenario's ``send_media_to``) while each leg hears exactly one stream. Relaying is a push of the
encoded packet into the listener's outbound track: no decoding, no jitter buffer, < 1 ms added
(docs/MEDIA-NOTES.md).

Semantics:
- ``connect(a, b)``: a hears b and b hears a (a pair). ``play``/``echo``/``listen`` on a connected
  leg first disconnects the pair (its former peer then hears silence).
- ``listen(listener, origin)``: one way, the listener hears ``origin`` (which may have any number
  of listeners); ``stop_listening`` ends it.
- ``play(leg, name | playback, speaker=None)``: a looping clip (``ringback``, ``music``,
  ``silence``) or a ``media.playback.Playback`` pulled one payload per 20 ms (silence while it has
  none); ``speaker``: the leg whose voice that is, for its taps (a scenario's prompts recorded as
  its side of the call).
- ``mute(leg)``: the server stops relaying ``leg``'s audio (its listeners hear silence, its taps get
  nothing), even if the client keeps sending. Survives hold/unhold.
- ``hold(holder)``: whoever hears the holder hears music, the holder hears silence; nothing is
  relayed either way until ``unhold(holder)``.
- ``add_tap(leg, tap)``: ``tap(payload, rtp_timestamp)`` for every audio packet ``leg`` sends
  (recording, voice activity): on the Python path here, and in the native route (``native.routes``)
  through the leg's ``packet_tap``, which the route checks before each packet, so a tap never
  takes a call off the fast path.
- ``replace(old, new)``: ``new`` (a fresh peer connection of the same party) takes ``old``'s
  place with its peer, listeners, mode, mute, hold and taps.
- codecs: a packet goes to a listener as it is when both speak its codec; otherwise through a
  converter of that direction (``transcoding.Transcoders``: Opus ↔ G.711 in a worker thread, PCMU ↔
  PCMA by table), e.g. a trunk party transferred to an agent whose leg speaks Opus.
- ``send_dtmf(leg, digits)``: digits sent *to* ``leg`` (what its client gets): RFC 4733 events
  when its remote negotiated telephone-event (``leg.telephone_event``; ~100 ms per digit, then
  ~80 ms of whatever it hears), else in-band dual tones (100 ms on / 80 ms off) over whatever it
  was hearing, which resumes afterwards.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .aiortc_hook import ReceivedPacket
from .clips import DTMF_DIGITS, FRAME_S, FRAME_SAMPLES, load_clip
from .dtmf import EventPacket, telephone_event_packets
from .leg import MediaLeg
from .native import routes as native_routes
from .outbound import OutboundAudio
from .playback.handle import Playback
from .rtp import clips as g711_clips
from .timeline import SILENCE, Source
from .transcoding import Transcoders

logger = logging.getLogger(__name__)

PLAYABLE = ("ringback", "music", "silence")
HOLD_CLIP = "music"
Tap = Callable[[bytes, int], object]
"""Called with each audio packet a leg sends: ``(payload, RTP timestamp)``; must not block."""


MIME_TYPES = {"opus": "audio/opus", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}


class OutboundTrack(Protocol):
    """What the bridge switches and feeds of a leg's outbound audio: ``outbound.OutboundAudio`` (a
    browser leg) or ``rtp.RtpOutbound`` (a trunk leg). ``audio_codec`` says what payloads it takes."""

    @property
    def source(self) -> Source: ...

    @property
    def audio_codec(self) -> str: ...

    def set_source(self, source: Source) -> None: ...

    def push(self, origin: str, ssrc: int, timestamp: int, payload: bytes) -> bool: ...

    def play_events(self, packets: Iterable[EventPacket], payload_type: int) -> None: ...

    def play_once(self, payloads: Iterable[bytes]) -> None: ...

    def play_pull(self, source: Source, pull: Callable[[], bytes | None]) -> None: ...


class BridgedMedia(Protocol):
    """What the bridge needs of a leg's media: an id, the one outbound track it switches, a hook
    for received packets, the negotiated telephone-event and a close notification. ``MediaLeg``
    (aiortc) is one; a leg of another kind (an RTP session, a scenario's) is bridged by being one too."""

    @property
    def id(self) -> str: ...

    @property
    def outbound(self) -> OutboundTrack: ...

    on_packet: Callable[[Any, ReceivedPacket], None] | None

    @property
    def telephone_event(self) -> tuple[int, int] | None: ...

    def add_close_listener(self, listener: Callable[[Any], None]) -> None: ...


class _Taps:
    """A leg's taps as one callable (the object the native route checks by identity): a new one
    each time the taps change. A tap that raises is logged and the others still run."""

    __slots__ = ("taps", "owner")

    def __init__(self, owner: str, taps: tuple[Tap, ...]) -> None:
        self.owner = owner
        self.taps = taps

    def __call__(self, payload: bytes, timestamp: int) -> None:
        for tap in self.taps:
            try:
                tap(payload, timestamp)
            except Exception:
                logger.exception("[leg %s] packet tap failed", self.owner)


@dataclass(slots=True)
class _LegMedia:
    """What the bridge knows about one leg."""

    leg: BridgedMedia
    peer: BridgedMedia | None = None
    "The leg this one is connected to (a pair)."
    mode: str = "silence"
    "``connected``, ``listening``, ``echo``, ``playback``, or a clip name."
    origin: BridgedMedia | None = None
    "``listening``: the leg it hears."
    pull_source: Source | None = None
    "``playback``: the source its track pulls from (``pull`` below)."
    pull: Callable[[], bytes | None] | None = None
    muted: bool = False
    holding: bool = False
    "This leg has put whoever it talks to on hold."
    taps: tuple[Tap, ...] = ()
    tap: _Taps | None = None
    "``taps`` as one callable (also the ``MediaLeg``'s ``packet_tap``), None without taps."
    heard: str | None = None
    "The leg id whose packets this one's applied source relays (its entry in ``Bridge._listeners``)."
    history: list[str] = field(default_factory=list)
    "Applied sources, oldest first (kept short; useful in tests and logs)."


class Bridge:
    """Routes encoded audio between legs and chooses each leg's outbound source."""

    def __init__(self) -> None:
        self._legs: dict[str, _LegMedia] = {}
        self._listeners: dict[str, list[BridgedMedia]] = {}
        "Leg id -> the legs whose applied source relays its packets (derived in ``_apply``)."
        self._pulls = itertools.count(1)
        self._transcoders = Transcoders()

    # -- queries -------------------------------------------------------------------------------

    def peer_of(self, leg: BridgedMedia) -> BridgedMedia | None:
        state = self._legs.get(leg.id)
        return state.peer if state else None

    def source_of(self, leg: BridgedMedia) -> Source:
        """What ``leg``'s client currently hears."""
        return leg.outbound.source

    def listeners_of(self, leg: BridgedMedia) -> list[BridgedMedia]:
        """The legs that hear ``leg`` now."""
        return list(self._listeners.get(leg.id, ()))

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
        self._apply(a, b, *self._dependents(a), *self._dependents(b))

    def disconnect(self, leg: BridgedMedia) -> None:
        """Stop relaying between ``leg`` and its peer; both hear silence."""
        peer = self._detach_peer(leg)
        self._set_mode(self._state(leg), "silence")
        self._apply(leg, *(p for p in (peer,) if p is not None))

    def listen(self, listener: BridgedMedia, origin: BridgedMedia) -> None:
        """``listener`` hears ``origin`` (one way; ``origin`` keeps whatever it hears)."""
        if listener is origin:
            raise ValueError("a leg hearing itself is echo")
        self._detach_peer(listener)
        self._state(origin)
        state = self._set_mode(self._state(listener), "listening")
        state.origin = origin
        logger.info("[leg %s] listens to leg %s", listener.id, origin.id)
        self._apply(listener)

    def stop_listening(self, listener: BridgedMedia, origin: BridgedMedia | None = None) -> None:
        """``listener`` stops hearing ``origin`` (any origin when None) and hears silence."""
        state = self._legs.get(listener.id)
        if state is None or state.mode != "listening" or (origin is not None and state.origin is not origin):
            return
        self._set_mode(state, "silence")
        self._apply(listener)

    def echo(self, leg: BridgedMedia) -> None:
        """``*43``: the leg hears itself."""
        self._detach_peer(leg)
        self._set_mode(self._state(leg), "echo")
        self._apply(leg)

    def play(self, leg: BridgedMedia, what: str | Playback, speaker: BridgedMedia | None = None) -> None:
        """Loop ``ringback``, ``music`` (``*44``) or ``silence`` to the leg, or play a ``Playback``
        (``speaker``: whose voice it is, for that leg's taps)."""
        if isinstance(what, str) and what not in PLAYABLE:
            raise ValueError(f"cannot play {what!r}; choose one of {PLAYABLE}")
        self._detach_peer(leg)
        state = self._state(leg)
        if isinstance(what, str):
            self._set_mode(state, what)
        else:
            self._set_mode(state, "playback")
            state.pull_source = Source("pull", origin=f"{leg.id}#{next(self._pulls)}", clip=what.name)
            state.pull = self._puller(what, speaker)
        self._apply(leg)

    def mute(self, leg: BridgedMedia) -> None:
        self._state(leg).muted = True
        self._apply(leg, *self._dependents(leg))

    def unmute(self, leg: BridgedMedia) -> None:
        self._state(leg).muted = False
        self._apply(leg, *self._dependents(leg))

    def hold(self, holder: BridgedMedia) -> None:
        """``holder`` puts its peer on hold: the peer hears music, nothing is relayed."""
        self._state(holder).holding = True
        self._apply(holder, *self._dependents(holder))

    def unhold(self, holder: BridgedMedia) -> None:
        self._state(holder).holding = False
        self._apply(holder, *self._dependents(holder))

    def add_tap(self, leg: BridgedMedia, tap: Tap) -> None:
        """``tap(payload, timestamp)`` for every audio packet ``leg`` sends from now on."""
        if not callable(tap):
            raise TypeError(f"a tap must be callable, not {type(tap).__name__}")
        state = self._state(leg)
        self._set_taps(state, (*state.taps, tap))

    def remove_tap(self, leg: BridgedMedia, tap: Tap) -> None:
        state = self._legs.get(leg.id)
        if state is not None and tap in state.taps:
            self._set_taps(state, tuple(t for t in state.taps if t is not tap))

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
        codec = leg.outbound.audio_codec
        for digit in digits.upper():
            if codec == "opus":
                packets.extend((await load_clip(f"dtmf:{digit}")).packets)
            else:
                packets.extend(await g711_clips.load(f"dtmf:{digit}", codec))
        leg.outbound.play_once(packets)
        logger.info("[leg %s] sending DTMF %s in-band", leg.id, digits)
        return len(packets) * 0.020

    def replace(self, old: BridgedMedia, new: BridgedMedia) -> None:
        """``new`` takes ``old``'s place: same peer, listeners, mode, mute, hold and taps (a
        party's replaced peer connection, see the call layer's ``sdp.offer`` with ``replace``).
        ``old`` is forgotten."""
        state = self._legs.pop(old.id, None)
        self._unindex(old)
        if old.on_packet == self._on_packet:
            old.on_packet = None
        if isinstance(old, MediaLeg):
            old.packet_tap = None
        if state is None:
            return
        fresh = self._state(new)
        fresh.peer, fresh.mode, fresh.origin = state.peer, state.mode, state.origin
        fresh.pull_source, fresh.pull = state.pull_source, state.pull
        fresh.muted, fresh.holding = state.muted, state.holding
        if state.peer is not None:
            self._state(state.peer).peer = new
        for other in self._legs.values():
            if other.origin is old:
                other.origin = new
        self._set_taps(fresh, state.taps)
        logger.info("[leg %s] replaced by leg %s", old.id, new.id)
        self._apply(new, *self._dependents(new))

    def remove(self, leg: BridgedMedia) -> None:
        """Forget ``leg`` (call it when the leg ends); whoever heard it hears silence."""
        peer = self._detach_peer(leg)
        dependents = self._dependents(leg)
        self._legs.pop(leg.id, None)
        self._unindex(leg)
        if leg.on_packet == self._on_packet:
            leg.on_packet = None
        if isinstance(leg, MediaLeg):
            leg.packet_tap = None
        for other in dependents:
            other_state = self._legs.get(other.id)
            if other_state is not None and other_state.origin is leg:
                self._set_mode(other_state, "silence")
        self._apply(*(p for p in (peer, *dependents) if p is not None and p.id in self._legs))

    # -- internals -----------------------------------------------------------------------------

    def _state(self, leg: BridgedMedia) -> _LegMedia:
        state = self._legs.get(leg.id)
        if state is None:
            state = self._legs[leg.id] = _LegMedia(leg=leg)
            leg.on_packet = self._on_packet
            leg.add_close_listener(self.remove)
        return state

    @staticmethod
    def _set_mode(state: _LegMedia, mode: str) -> _LegMedia:
        state.mode = mode
        state.origin = None
        state.pull_source = state.pull = None
        return state

    def _dependents(self, leg: BridgedMedia) -> list[BridgedMedia]:
        """The legs whose source depends on ``leg``'s state: its peer and its listeners."""
        state = self._legs.get(leg.id)
        found = [state.peer] if state is not None and state.peer is not None else []
        found += [s.leg for s in self._legs.values() if s.origin is leg and s.leg not in found]
        return found

    def _detach_peer(self, leg: BridgedMedia) -> BridgedMedia | None:
        state = self._legs.get(leg.id)
        if state is None or state.peer is None:
            return None
        peer = state.peer
        peer_state = self._state(peer)
        state.peer, state.holding = None, False
        peer_state.peer, peer_state.holding = None, False
        self._set_mode(peer_state, "silence")
        logger.info("[leg %s] disconnected from leg %s", leg.id, peer.id)
        self._apply(peer, *self._dependents(peer))
        return peer

    def _heard_from(self, other: BridgedMedia) -> Source:
        other_state = self._legs.get(other.id)
        if other_state is None or other_state.muted:
            return SILENCE
        if other_state.holding:
            return Source("clip", clip=HOLD_CLIP)
        return Source("forward", origin=other.id)

    def _source_for(self, state: _LegMedia) -> Source:
        """The one rule deciding what a leg hears."""
        if state.holding:
            return SILENCE
        if state.mode == "echo":
            return SILENCE if state.muted else Source("forward", origin=state.leg.id)
        if state.mode == "connected" and state.peer is not None:
            return self._heard_from(state.peer)
        if state.mode == "listening" and state.origin is not None:
            return self._heard_from(state.origin)
        if state.mode == "playback" and state.pull_source is not None:
            return state.pull_source
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
            if source.kind == "pull" and state.pull is not None:
                leg.outbound.play_pull(source, self._transcoders.pull_for(leg.id, source, state.pull,
                                                                          leg.outbound.audio_codec))
            else:
                leg.outbound.set_source(SILENCE if source.kind == "pull" else source)
            self._index(state, source.origin if source.kind == "forward" else None)

    def _index(self, state: _LegMedia, heard: str | None) -> None:
        """Keeps ``_listeners`` in step with the applied source of ``state``'s leg."""
        if state.heard == heard:
            return
        self._unindex(state.leg, as_origin=False)
        state.heard = heard
        if heard is None:
            return
        listeners = self._listeners.setdefault(heard, [])
        listeners.append(state.leg)
        origin = self._legs.get(heard)
        if len(listeners) > 1 and origin is not None and isinstance(origin.leg, MediaLeg):
            native_routes.disarm(origin.leg)  # a native route relays to one listener only

    def _unindex(self, leg: BridgedMedia, as_origin: bool = True) -> None:
        state = self._legs.get(leg.id)
        heard = state.heard if state is not None else None
        if heard is not None:
            self._transcoders.drop(heard, leg.id)
        if as_origin:
            self._transcoders.forget(leg.id)
        for origin_id in ([heard] if heard is not None else list(self._listeners)):
            listeners = self._listeners.get(origin_id)
            if listeners is not None and leg in listeners:
                listeners.remove(leg)
                if not listeners:
                    del self._listeners[origin_id]
        if state is not None:
            state.heard = None
        if as_origin:
            self._listeners.pop(leg.id, None)

    def _set_taps(self, state: _LegMedia, taps: tuple[Tap, ...]) -> None:
        state.taps = taps
        state.tap = _Taps(state.leg.id, taps) if taps else None
        if isinstance(state.leg, MediaLeg):
            state.leg.packet_tap = state.tap  # the native route falls back, then re-arms with it

    def _puller(self, playback: Playback, speaker: BridgedMedia | None) -> Callable[[], bytes | None]:
        """What a leg's track calls every 20 ms for ``playback``; the speaker's taps get each payload."""
        timestamps = itertools.count(0, FRAME_SAMPLES)

        def pull() -> bytes | None:
            payload = playback.next_payload()
            if payload is not None and speaker is not None:
                speaker_state = self._legs.get(speaker.id)
                if speaker_state is not None and speaker_state.tap is not None and not speaker_state.muted:
                    speaker_state.tap(payload, next(timestamps) & 0xFFFFFFFF)
            return payload

        return pull

    def _on_packet(self, leg: BridgedMedia, packet: ReceivedPacket) -> None:
        """One received Opus packet of ``leg``: its taps, then whoever hears it (echo: itself)."""
        state = self._legs.get(leg.id)
        if state is None or state.muted:
            return
        if state.tap is not None:
            state.tap(packet.payload, packet.timestamp)
        listeners = self._listeners.get(leg.id)
        if not listeners:
            return
        if len(listeners) > 1:
            for target in tuple(listeners):
                self._push(leg, target, packet)
            return
        target = listeners[0]
        if (self._push(leg, target, packet) and isinstance(leg, MediaLeg)
                and isinstance(target.outbound, OutboundAudio)):  # the native path knows aiortc legs only
            native_routes.arm(leg, packet, target.outbound)  # the following packets may skip Python

    def _push(self, leg: BridgedMedia, target: BridgedMedia, packet: ReceivedPacket) -> bool:
        """``packet`` to ``target`` as it is, or converted when ``target`` speaks another codec."""
        outbound = target.outbound
        codec = outbound.audio_codec
        if MIME_TYPES.get(codec) != packet.mime_type:
            self._transcoders.relay(leg.id, target, packet, codec)
            return False
        return outbound.push(leg.id, packet.ssrc, packet.timestamp, packet.payload)
