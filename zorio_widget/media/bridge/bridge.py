"""``Bridge``: who hears what, for the legs of the calls of this process.

A ``Bridge`` is an object: the call layer's switchboard owns the process's one and hands it to
every call (no module global). A leg is forgotten when it closes.

The call layer (and a scenario, through its ``Call``) says what should happen (connect, listen,
echo, play, mute, hold, tap); the bridge keeps the one record per leg of who hears what (peer,
mode, mute, hold: the call layer reads them back through ``is_muted``/``is_holding``, it keeps no
copy) and computes every leg's outbound source in ONE place (``rules.source_for``), then applies
it here (``_apply``). That rule table also gives the relay its fan-out: each received packet goes
to every leg whose applied source is that packet's leg (``relay.Relay``), so one party can be heard
by many (a scenario's ``send_media_to``) while each leg hears exactly one stream.

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
  (recording, voice activity): on the Python path (``relay``), and in the native route (``native.routes``)
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
from collections.abc import Callable

from ..clips import FRAME_SAMPLES
from ..playback.handle import Playback
from ..timeline import SILENCE, Source
from ..transcoding import Transcoders
from .bridged import NATIVE_LEGS, BridgedMedia
from .digits import send_digits
from .relay import Relay
from .rules import PLAYABLE, LegMedia, set_mode, source_for
from .taps import Tap, Taps

logger = logging.getLogger(__name__)


class Bridge:
    """Routes encoded audio between legs and chooses each leg's outbound source."""

    def __init__(self) -> None:
        self._legs: dict[str, LegMedia] = {}
        self._pulls = itertools.count(1)
        self._transcoders = Transcoders()
        self._relay = Relay(self._legs, self._transcoders)

    # -- queries -------------------------------------------------------------------------------

    def peer_of(self, leg: BridgedMedia) -> BridgedMedia | None:
        state = self._legs.get(leg.id)
        return state.peer if state else None

    def source_of(self, leg: BridgedMedia) -> Source:
        """What ``leg``'s client currently hears."""
        return leg.outbound.source

    def listeners_of(self, leg: BridgedMedia) -> list[BridgedMedia]:
        """The legs that hear ``leg`` now."""
        return self._relay.listeners_of(leg)

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
        set_mode(self._state(leg), "silence")
        self._apply(leg, *(p for p in (peer,) if p is not None))

    def listen(self, listener: BridgedMedia, origin: BridgedMedia) -> None:
        """``listener`` hears ``origin`` (one way; ``origin`` keeps whatever it hears)."""
        if listener is origin:
            raise ValueError("a leg hearing itself is echo")
        self._detach_peer(listener)
        self._state(origin)
        state = set_mode(self._state(listener), "listening")
        state.origin = origin
        logger.info("[leg %s] listens to leg %s", listener.id, origin.id)
        self._apply(listener)

    def stop_listening(self, listener: BridgedMedia, origin: BridgedMedia | None = None) -> None:
        """``listener`` stops hearing ``origin`` (any origin when None) and hears silence."""
        state = self._legs.get(listener.id)
        if state is None or state.mode != "listening" or (origin is not None and state.origin is not origin):
            return
        set_mode(state, "silence")
        self._apply(listener)

    def echo(self, leg: BridgedMedia) -> None:
        """``*43``: the leg hears itself."""
        self._detach_peer(leg)
        set_mode(self._state(leg), "echo")
        self._apply(leg)

    def play(self, leg: BridgedMedia, what: str | Playback, speaker: BridgedMedia | None = None) -> None:
        """Loop ``ringback``, ``music`` (``*44``) or ``silence`` to the leg, or play a ``Playback``
        (``speaker``: whose voice it is, for that leg's taps)."""
        if isinstance(what, str) and what not in PLAYABLE:
            raise ValueError(f"cannot play {what!r}; choose one of {PLAYABLE}")
        self._detach_peer(leg)
        state = self._state(leg)
        if isinstance(what, str):
            set_mode(state, what)
        else:
            set_mode(state, "playback")
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
        return await send_digits(leg, digits)

    def replace(self, old: BridgedMedia, new: BridgedMedia) -> None:
        """``new`` takes ``old``'s place: same peer, listeners, mode, mute, hold and taps (a
        party's replaced peer connection, see the call layer's ``sdp.offer`` with ``replace``).
        ``old`` is forgotten."""
        state = self._legs.pop(old.id, None)
        self._relay.unindex(old)
        if old.on_packet == self._relay.on_packet:
            old.on_packet = None
        if isinstance(old, NATIVE_LEGS):
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
        self._relay.unindex(leg)
        if leg.on_packet == self._relay.on_packet:
            leg.on_packet = None
        if isinstance(leg, NATIVE_LEGS):
            leg.packet_tap = None
        for other in dependents:
            other_state = self._legs.get(other.id)
            if other_state is not None and other_state.origin is leg:
                set_mode(other_state, "silence")
        self._apply(*(p for p in (peer, *dependents) if p is not None and p.id in self._legs))

    # -- internals -----------------------------------------------------------------------------

    def _state(self, leg: BridgedMedia) -> LegMedia:
        state = self._legs.get(leg.id)
        if state is None:
            state = self._legs[leg.id] = LegMedia(leg=leg)
            leg.on_packet = self._relay.on_packet
            leg.add_close_listener(self.remove)
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
        set_mode(peer_state, "silence")
        logger.info("[leg %s] disconnected from leg %s", leg.id, peer.id)
        self._apply(peer, *self._dependents(peer))
        return peer

    def _apply(self, *legs: BridgedMedia) -> None:
        for leg in legs:
            state = self._state(leg)
            source = source_for(state, self._legs)
            if source != leg.outbound.source:
                logger.info("[leg %s] hears %s -> %s", leg.id, leg.outbound.source, source)
                state.history = [*state.history[-15:], str(source)]
            if source.kind == "pull" and state.pull is not None:
                leg.outbound.play_pull(source, self._transcoders.pull_for(leg.id, source, state.pull,
                                                                          leg.outbound.audio_codec))
            else:
                leg.outbound.set_source(SILENCE if source.kind == "pull" else source)
            self._relay.index(state, source.origin if source.kind == "forward" else None)

    def _set_taps(self, state: LegMedia, taps: tuple[Tap, ...]) -> None:
        state.taps = taps
        state.tap = Taps(state.leg.id, taps) if taps else None
        if isinstance(state.leg, NATIVE_LEGS):
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
