"""One call: its legs, its parties, its state and its record.

`CallSession` alone changes the call's state (through the table in `states.py`) and alone assigns
its parties (caller, callee, the legs ringing, the consult link of an attended transfer); every
change happens under the session's lock, so signalling from two sockets (caller and callee) or a
ring timer can never interleave half-way. It drives its legs through their endpoint and media
interfaces only (`legs.py`), tells the bridge who hears what, and asks its `Board` (the process's
switchboard) for everything process-wide. Media state (ICE, DTLS) is an input (`media_failed`),
never the call's state. The state itself, the ring timer and the work waiting for the answer or
the end are its `CallLifecycle` (`lifecycle.py`), which knows no legs.
"""

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from zorio_widget.calls import records
from zorio_widget.calls.device import Device
from zorio_widget.calls.legs import Endpoint, LegDirection, MediaPort, new_call_id
from zorio_widget.calls.lifecycle import CallLifecycle
from zorio_widget.calls.limits import CallLimits
from zorio_widget.calls.lines import LineClaim
from zorio_widget.calls.routing import Route, RouteKind
from zorio_widget.calls.states import CallEvent, CallState
from zorio_widget.media import Bridge
from zorio_widget.protocol.messages import Frame, ProtocolError

logger = logging.getLogger(__name__)

Originator = Callable[["CallSession"], Awaitable[None]]
"""How the callee side of one target kind is originated (`targets.py`); runs under the lock."""
Control = Callable[["CallSession", "Leg", Frame], Awaitable[None]]
"""A request on a leg (`switchboard.REQUESTS`); runs under the lock."""


@dataclass(eq=False)
class Leg:
    """One party's side of a call: an endpoint and its media; its `call_id` is what that party uses.

    Made and moved only by a `CallSession` (`session` is the call it is in now)."""

    call_id: str
    endpoint: Endpoint
    direction: LegDirection
    media: MediaPort
    session: "CallSession"
    #: What the caller asked to be shown as (`call.create` options.caller_name).
    caller_name: str = ""
    #: Detect DTMF in the party's audio (options.inband_dtmf): tones travel in-band.
    inband_dtmf: bool = False

    @property
    def held(self) -> bool:
        """This party has put the other on hold (the bridge's record: it alone keeps it)."""
        return self.session.bridge.is_holding(self.media)

    @property
    def muted(self) -> bool:
        """The server does not relay this party's audio (the bridge's record)."""
        return self.session.bridge.is_muted(self.media)

    def reattach(self, endpoint: Endpoint) -> None:
        """The party is back on a new endpoint (a reconnected device of the same extension)."""
        self.endpoint = endpoint

    async def send(self, msg_type: str, **fields: Any) -> None:
        await self.endpoint.send_frame({"type": msg_type, "call_id": self.call_id, **fields})


class Recording(Protocol):
    """A call's recording (`recording.CallRecording`): what the session and its requests read."""

    @property
    def state(self) -> str:
        """`recording`, `paused` or `stopped`."""


class Board(Protocol):
    """What a call asks of the process it lives in (`switchboard.Switchboard` is the one): the
    bridge, media for new legs, the originators of each target kind, the table of live legs
    (`enlist`: a `call_id` now reaches its leg) and calls, presence, extensions' lines and call
    slots (those are asked of the whole cluster, so they are awaited)."""

    @property
    def bridge(self) -> Bridge: ...
    @property
    def ring_timeout_s(self) -> float: ...
    def new_media(self, media_id: str) -> MediaPort: ...
    def originator_for(self, kind: RouteKind) -> Originator: ...
    def enlist(self, leg: Leg) -> None: ...
    def forget_leg(self, leg: Leg) -> None: ...
    def expect_media(self, leg: Leg) -> None: ...
    def add_session(self, session: "CallSession") -> None: ...
    def forget_session(self, session: "CallSession") -> None: ...
    def spawn(self, work: Coroutine[Any, Any, None]) -> None: ...
    async def devices_of(self, tenant_id: int, number: str) -> list[Device]: ...
    async def is_busy(self, tenant_id: int, number: str, excluding: "CallSession | None" = None) -> bool: ...
    async def claim_line(self, tenant_id: int, number: str, excluding: "CallSession | None" = None,
                         holder: "CallSession | None" = None) -> LineClaim | None: ...
    async def take_slot(self, tenant_id: int, number: str, limits: CallLimits) -> str | None: ...
    def give_slot(self, tenant_id: int, number: str) -> None: ...


class CallSession(CallLifecycle):
    """Made by `open` only. The party that placed the call (`origin`) holds its call slot,
    taken before."""

    def __init__(self, board: Board, bridge: Bridge, route: Route, origin: Endpoint, limits: CallLimits) -> None:
        super().__init__(origin.tenant_id)
        self.board = board
        #: Who hears what in this call (the switchboard's, shared by the process's calls).
        self.bridge = bridge
        self.limits = limits
        self.origin = origin
        self.route = route
        self.caller: Leg | None = None
        self.callee: Leg | None = None
        self.ringing: dict[str, Leg] = {}
        #: Attended transfer: the consult call this call's agent placed.
        self.consult: CallSession | None = None
        #: `X-` headers this call carries to the parties it rings (`call.incoming.headers`): set by a
        #: scenario's outbound call before `start`.
        self.headers: dict[str, str] = {}
        #: The call's recording while it records (`recording.CallRecording`).
        self.recording: Recording | None = None

    # --- coming to exist ---------------------------------------------------------------------

    @classmethod
    async def open(cls, board: Board, route: Route, origin: Endpoint, limits: CallLimits,
                   **record_fields: Any) -> "CallSession":
        """The one way a call comes to exist: its record is written (every call leaves one,
        also when it fails at once) and the board knows it. Its parties come next (`admit_caller`,
        `new_caller`, `take_caller`...), then `start`."""
        session = cls(board, board.bridge, route, origin, limits)
        await records.create_record(session.started_at, uuid=session.uuid, **records.call_fields(route, origin), **record_fields)
        board.add_session(session)
        return session

    async def start(self) -> None:
        """Originates the callee side, as the route's target kind does it (`Board.originator_for`)."""
        originate = self.board.originator_for(self.route.kind)
        async with self.lock:
            if self.is_live:
                await originate(self)

    # --- legs and parties ----------------------------------------------------------------------

    @property
    def legs(self) -> list[Leg]:
        return [leg for leg in (self.caller, self.callee, *self.ringing.values()) if leg is not None]

    def peer_of(self, leg: Leg) -> Leg | None:
        """The party `leg` talks to once connected (None for service calls)."""
        if leg is self.caller:
            return self.callee
        if leg is self.callee:
            return self.caller
        return None

    def involves(self, tenant_id: int, number: str) -> bool:
        return self.tenant_id == tenant_id and any(leg.endpoint.number == number for leg in self.legs)

    def _new_leg(self, endpoint: Endpoint, direction: LegDirection) -> Leg:
        call_id = new_call_id()
        return self._leg(call_id, endpoint, direction, self.board.new_media(call_id))

    def _leg(self, call_id: str, endpoint: Endpoint, direction: LegDirection, media: MediaPort,
             **details: Any) -> Leg:
        leg = Leg(call_id, endpoint, direction, media, self, **details)
        self._wire(leg)
        leg.media.set_inband_dtmf_detection(leg.inband_dtmf)
        self.board.enlist(leg)
        return leg

    def _wire(self, leg: Leg) -> None:
        """Media events become session work; the leg's *current* session is looked up each time."""
        spawn = self.board.spawn
        leg.media.on_failed = lambda _media: spawn(leg.session.media_failed(leg))
        leg.media.on_dtmf = lambda digit: spawn(leg.session.digit_from_media(leg, digit))

    def admit_caller(self, endpoint: Endpoint, media: MediaPort, **details: Any) -> Leg:
        """The caller's leg around the media that answered its offer (its id is the `call_id`)."""
        assert self.caller is None
        self.caller = self._leg(media.id, endpoint, "outgoing", media, **details)
        return self.caller

    def new_caller(self, endpoint: Endpoint) -> Leg:
        """A fresh outgoing leg for the caller (the agent's side of a consult call)."""
        assert self.caller is None
        self.caller = self._new_leg(endpoint, "outgoing")
        return self.caller

    def admit_callee(self, endpoint: Endpoint, media: MediaPort, **details: Any) -> Leg:
        """A callee side that needs no offer (a scenario run by the server, its media the bridge's):
        it rings until `answered_by` (or the call ends), like a device that got `call.incoming`."""
        leg = self._leg(media.id, endpoint, "incoming", media, **details)
        self.ringing[leg.call_id] = leg
        return leg

    def take_caller(self, leg: Leg) -> None:
        """`leg` (a party of another call, moved by a transfer) becomes this call's caller."""
        self._take(leg)
        self.caller = leg

    def take_callee(self, leg: Leg) -> None:
        """`leg` (answered in another call) becomes this call's callee."""
        self._take(leg)
        self.callee = leg

    def _take(self, leg: Leg) -> None:
        old = leg.session
        if old.caller is leg:
            old.caller = None
        elif old.callee is leg:
            old.callee = None
        old.ringing.pop(leg.call_id, None)
        leg.session = self

    async def offer_to(self, endpoint: Endpoint, media: MediaPort | None = None) -> Leg:
        """Rings `endpoint`: a new incoming leg offers it the call (`call.incoming` with the offer).
        `media`: the leg's media when its kind brings its own (a trunk's RTP), else a new one from
        the board, which prefers the caller's codec (a trunk caller's G.711: no transcoding)."""
        caller = self.caller
        assert caller is not None
        if media is None:
            leg = self._new_leg(endpoint, "incoming")
            if caller.media.audio_codec not in (None, "opus"):
                leg.media.prefer_codecs((str(caller.media.audio_codec), "opus"))
        else:
            leg = self._leg(media.id, endpoint, "incoming", media)
        try:
            offer = await leg.media.create_offer()
        except BaseException:
            self.board.forget_leg(leg)
            await leg.media.close()
            raise
        self.ringing[leg.call_id] = leg
        leg.inband_dtmf = caller.inband_dtmf
        await leg.send("call.incoming", uuid=str(self.uuid), sdp=offer, to=self.route.number, headers=dict(self.headers),
                       **{"from": caller.endpoint.number, "from_name": caller.caller_name or caller.endpoint.name})
        return leg

    async def ringing_started(self) -> None:
        """The callee side is alerting: the caller hears ringback until an answer or the timeout."""
        caller = self.caller
        assert caller is not None
        self._apply(CallEvent.RING)
        self.bridge.play(caller.media, "ringback")
        await caller.send("call.ringing")
        self._start_ring_timer(self.board.ring_timeout_s, lambda: self.end("no-answer"))

    async def answered_by(self, leg: Leg, headers: dict[str, str] | None = None) -> None:
        """A ringing leg answered (its media has the answer): it is the callee, the others stop.
        `headers`: `X-` headers the answering side adds (a scenario's `answer`), shown to the caller."""
        del self.ringing[leg.call_id]
        self.callee = leg
        await self._drop_ringing("answered-elsewhere")
        self._cancel_ring_timer()
        caller = self.caller
        assert caller is not None
        self.bridge.connect(caller.media, leg.media)
        self.board.expect_media(leg)
        leg.media.set_inband_dtmf_detection(leg.inband_dtmf)
        await self.mark_answered()
        await caller.send("call.answered", **({"headers": headers} if headers else {}))
        await leg.send("call.answered")

    # --- requests ------------------------------------------------------------------------------

    async def run(self, control: Control, leg: Leg, frame: Frame) -> None:
        """A request on `leg` (answer, hold, transfer...), applied under the call's lock."""
        async with self.lock:
            if leg not in self.legs:
                raise ProtocolError("unknown_call", req_id=frame.req_id, call_id=leg.call_id)
            await control(self, leg, frame)

    async def replace_media(self, leg: Leg, offer: str) -> str:
        """A fresh peer connection for `leg` from the party's offer (after a network change): it
        takes the old one's place in the bridge, the old one closes. Returns the answer; raises
        `BadSdp`, leaving the leg as it was."""
        media = self.board.new_media(f"{leg.call_id}.{secrets.token_hex(2)}")
        answer = await media.accept_offer(offer)
        old, leg.media = leg.media, media
        self._wire(leg)
        self.board.expect_media(leg)
        self.bridge.replace(old, media)  # the party keeps its peer, mute and hold
        media.set_inband_dtmf_detection(leg.inband_dtmf)
        await old.close()
        return answer

    async def relay_digits(self, leg: Leg, digits: str, *, regenerate: bool = True) -> None:
        """Digits from `leg` (signalling or RFC 4733): tones to the far side, reports to both."""
        peer = self.peer_of(leg)
        if regenerate:
            await self.bridge.send_dtmf(peer.media if peer is not None else leg.media, digits)
        for digit in digits:
            for party in (leg, peer):
                if party is not None:
                    await party.send("call.dtmf_received", digit=digit)

    # --- attended transfer: the consult link ---------------------------------------------------

    def begin_consult(self, consult: "CallSession") -> None:
        """This call's agent placed `consult` (and holds this call's other party meanwhile)."""
        self.consult = consult

    def end_consult(self) -> None:
        self.consult = None

    # --- media and endpoints going away ----------------------------------------------------------

    async def digit_from_media(self, leg: Leg, digit: str) -> None:
        """A digit the bridge detected in `leg`'s media (RFC 4733 event or in-band tone)."""
        async with self.lock:
            if self.state == CallState.ANSWERED and leg in self.legs:
                # In-band tones already travel in the relayed audio; only events need regenerating.
                await self.relay_digits(leg, digit, regenerate=not leg.inband_dtmf)

    async def media_failed(self, leg: Leg, *, never_connected: bool = False) -> None:
        """ICE/DTLS failed or the peer closed its connection: the leg cannot carry audio. A leg
        whose media never connected ends the call `failed`, even a call already answered."""
        logger.warning("call %s: media of leg %s failed", self.uuid, leg.call_id)
        await self.leg_gone(leg, answered_reason="failed" if never_connected else "hangup")

    async def leg_gone(self, leg: Leg, answered_reason: str = "hangup") -> None:
        """The leg's endpoint went away (or its media failed): end what depends on it."""
        async with self.lock:
            if not self.is_live or leg not in self.legs:
                return
            if leg.call_id in self.ringing and len(self.ringing) > 1:
                del self.ringing[leg.call_id]
                self.board.forget_leg(leg)
                await leg.media.close()
            elif self.state == CallState.ANSWERED:
                await self.end(answered_reason)
            elif leg is self.caller:
                await self.end("cancelled")
            else:
                await self.end("failed")

    # --- ending -----------------------------------------------------------------------------------

    async def _drop_ringing(self, reason: str) -> None:
        dropped, self.ringing = list(self.ringing.values()), {}
        for leg in dropped:
            self.board.forget_leg(leg)
            await leg.send("call.ended", reason=reason)
        await asyncio.gather(*(leg.media.close() for leg in dropped))

    async def end(self, reason: str, headers: dict[str, str] | None = None, **record_fields: Any) -> None:
        """Ends the call (the caller holds the lock): every leg gets `call.ended` (with `headers`, the
        `X-` headers of the side that ended it, if any), media is freed, the record closed with
        `reason` and `record_fields`."""
        if not self.is_live:
            return
        self._apply(CallEvent.END)
        self._cancel_ring_timer()
        legs = self.legs
        self.ringing = {}
        for leg in legs:
            self.board.forget_leg(leg)
        for leg in legs:
            await leg.send("call.ended", reason=reason, **({"headers": headers} if headers else {}))
        await asyncio.gather(*(leg.media.close() for leg in legs), return_exceptions=True)
        self.board.forget_session(self)
        await self._close(reason, self.board.spawn, **record_fields)
