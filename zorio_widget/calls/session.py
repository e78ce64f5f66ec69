"""One call: its legs, its state, its media wiring and its record.

`CallSession` alone changes the call's state (through the table in `states.py`) and every change
happens under the session's lock, so signalling from two sockets (caller and callee) or a ring
timer can never interleave half-way. aiortc's connection state is an input (`media_failed`), not
our state.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from django.utils import timezone

from zorio_widget.calls import records
from zorio_widget.calls.device import Device
from zorio_widget.calls.limits import CallLimits
from zorio_widget.calls.models import Direction
from zorio_widget.calls.routing import Route, RouteKind, ServiceNumber
from zorio_widget.calls.states import CallEvent, CallState, is_live, next_state
from zorio_widget.media import BadSdp, Bridge, MediaLeg
from zorio_widget.signalling.protocol import Frame, ProtocolError

if TYPE_CHECKING:
    from zorio_widget.calls.switchboard import Switchboard

logger = logging.getLogger(__name__)

LegDirection = Literal["outgoing", "incoming"]
REJECT_REASONS = {486: "busy", 603: "rejected"}


@dataclass(eq=False)
class Leg:
    """One party's side of a call on one device; its `call_id` is what that client uses."""

    call_id: str
    device: Device
    direction: LegDirection
    media: MediaLeg
    session: "CallSession"
    #: The device's socket closed; the leg waits for the extension to reconnect (re-attach).
    detached: bool = False
    #: The re-attach grace of the current drop (at most one: a new drop or a re-attach cancels it).
    grace_timer: asyncio.TimerHandle | None = None
    #: When the current media must have connected by (Switchboard.expect_media).
    media_deadline: asyncio.TimerHandle | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        """This party has put the other on hold (the bridge's record: it alone keeps it)."""
        return self.session.bridge.is_holding(self.media)

    @property
    def muted(self) -> bool:
        """The server does not relay this party's audio (the bridge's record)."""
        return self.session.bridge.is_muted(self.media)

    def cancel_grace(self) -> None:
        timer, self.grace_timer = self.grace_timer, None
        if timer is not None:
            timer.cancel()

    def cancel_media_deadline(self) -> None:
        timer, self.media_deadline = self.media_deadline, None
        if timer is not None:
            timer.cancel()

    async def send(self, msg_type: str, **fields: Any) -> None:
        await self.device.send_frame({"type": msg_type, "call_id": self.call_id, **fields})

    def summary(self) -> dict[str, Any]:
        """What a re-attaching client needs to rebuild this call (`registered.calls`)."""
        session = self.session
        peer = session.peer_of(self)
        remote = peer.device if peer is not None else None
        return {
            "call_id": self.call_id,
            "uuid": str(session.uuid),
            "state": session.state.value,
            "direction": self.direction,
            "number": remote.number if remote else session.route.number,
            "name": remote.name if remote else session.route.name,
            "held": self.held,
            "remote_held": bool(peer and peer.held),
            "muted": self.muted,
            "answered_at": session.answered_at.isoformat() if session.answered_at else None,
        }


class CallSession:
    def __init__(self, board: "Switchboard", uuid: UUID, caller_device: Device, route: Route,
                 limits: CallLimits, bridge: Bridge) -> None:
        self.board = board
        #: Who hears what in this call (the switchboard's, shared by the process's calls).
        self.bridge = bridge
        self.limits = limits
        self.uuid = uuid
        self.tenant_id = caller_device.tenant_id
        self.origin = caller_device
        self.route = route
        self.state = CallState.ORIGINATING
        self.caller: Leg | None = None
        self.callee: Leg | None = None
        self.ringing: dict[str, Leg] = {}
        self.answered_at: datetime | None = None
        self.lock = asyncio.Lock()
        self._ring_timer: asyncio.Task[None] | None = None
        #: Attended transfer: the consult call this call's agent placed, and the reverse link.
        self.consult: CallSession | None = None
        self.consult_of: tuple[CallSession, Leg] | None = None

    def __repr__(self) -> str:
        return f"<CallSession {self.uuid} {self.state}>"

    @property
    def legs(self) -> list[Leg]:
        return [leg for leg in (self.caller, self.callee, *self.ringing.values()) if leg is not None]

    @property
    def is_live(self) -> bool:
        return is_live(self.state)

    def peer_of(self, leg: Leg) -> Leg | None:
        """The party `leg` talks to once connected (None for service calls)."""
        if leg is self.caller:
            return self.callee
        if leg is self.callee:
            return self.caller
        return None

    def detach(self, leg: Leg) -> None:
        """Takes a leg out of this call (it moves to another session in a transfer)."""
        if leg is self.caller:
            self.caller = None
        elif leg is self.callee:
            self.callee = None
        self.ringing.pop(leg.call_id, None)

    def involves(self, tenant_id: int, number: str) -> bool:
        return self.tenant_id == tenant_id and any(leg.device.number == number for leg in self.legs)

    async def write_record(self, **fields: Any) -> None:
        """Writes the call's record at creation: every call leaves one (DESIGN.md §8)."""
        route, device = self.route, self.origin
        await records.create_record(
            uuid=self.uuid,
            tenant_id=self.tenant_id,
            direction=Direction.INTERNAL if route.kind == RouteKind.EXTENSION else Direction.OUTGOING,
            from_extension_id=device.extension_id,
            to_extension_id=route.extension_id,
            from_number=device.number,
            from_name=device.name,
            to_number=route.number,
            to_name=route.name,
            **fields,
        )

    def _apply(self, event: CallEvent) -> None:
        new_state = next_state(self.state, event)
        logger.info("call %s: %s -> %s (%s)", self.uuid, self.state, new_state, event)
        self.state = new_state

    # --- starting ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Routes the call once the caller's leg exists and has its answer."""
        async with self.lock:
            assert self.caller is not None
            if self.route.kind == RouteKind.SERVICE:
                await self._start_service(self.caller)
            elif self.route.kind == RouteKind.UNKNOWN:
                await self._end("failed")
            else:
                await self._start_ringing(self.caller)

    async def _start_service(self, caller: Leg) -> None:
        if self.route.service == ServiceNumber.ECHO:
            self.bridge.echo(caller.media)
        else:
            self.bridge.play(caller.media, "music")
        await self.mark_answered()
        await caller.send("call.answered")

    async def _start_ringing(self, caller: Leg) -> None:
        route = self.route
        if route.extension_id == caller.device.extension_id:
            await self._end("failed")
            return
        devices = self.board.devices_of(self.tenant_id, route.number)
        if not devices:
            await self._end("failed")
            return
        if not route.call_waiting and self.board.is_busy(self.tenant_id, route.number, excluding=self):
            await self._end("busy")
            return
        if self.board.live_calls_of(self.tenant_id, route.number, excluding=self) >= self.limits.per_extension:
            await self._end("busy")  # call waiting, but the extension already has all it may hold
            return
        offers = await asyncio.gather(*(self._offer_to(device) for device in devices), return_exceptions=True)
        for result in offers:
            if isinstance(result, BaseException):
                logger.warning("call %s: could not offer to a device: %r", self.uuid, result)
        if not self.ringing:
            await self._end("failed")
            return
        self._apply(CallEvent.RING)
        self.bridge.play(caller.media, "ringback")
        await caller.send("call.ringing")
        self._ring_timer = asyncio.create_task(self._ring_timeout(), name=f"ring-timeout-{self.uuid}")

    async def _offer_to(self, device: Device) -> None:
        leg = self.board.new_leg(device, "incoming", self)
        try:
            offer = await leg.media.create_offer()
        except BaseException:
            self.board.forget_leg(leg)
            await leg.media.close()
            raise
        self.ringing[leg.call_id] = leg
        caller = self.caller
        assert caller is not None
        leg.extra["inband_dtmf"] = caller.extra.get("inband_dtmf", False)
        await leg.send(
            "call.incoming",
            uuid=str(self.uuid),
            sdp=offer,
            to=self.route.number,
            **{"from": caller.device.number, "from_name": caller.extra.get("caller_name") or caller.device.name},
        )

    async def _ring_timeout(self) -> None:
        await asyncio.sleep(self.board.ring_timeout_s)
        async with self.lock:
            if self.state == CallState.RINGING:
                await self._end("no-answer")

    # --- requests from legs -------------------------------------------------------------------

    async def answer(self, leg: Leg, sdp: str, req_id: str | None) -> None:
        async with self.lock:
            if leg.direction != "incoming":
                raise ProtocolError("not_incoming", req_id=req_id, call_id=leg.call_id)
            if leg.call_id not in self.ringing or self.state != CallState.RINGING:
                raise ProtocolError("invalid_state", "The call is no longer ringing.", req_id=req_id,
                                    call_id=leg.call_id)
            try:
                await leg.media.accept_answer(sdp)
            except BadSdp as exc:
                raise ProtocolError("bad_sdp", str(exc), req_id=req_id, call_id=leg.call_id) from exc
            del self.ringing[leg.call_id]
            self.callee = leg
            await self._drop_ringing("answered-elsewhere")
            self._cancel_ring_timer()
            caller = self.caller
            assert caller is not None
            self.bridge.connect(caller.media, leg.media)
            self.board.expect_media(leg)
            leg.media.set_inband_dtmf_detection(bool(leg.extra.get("inband_dtmf")))
            await self.mark_answered()
            await caller.send("call.answered")
            await leg.send("call.answered")

    async def hangup(self, leg: Leg, req_id: str | None) -> None:
        async with self.lock:
            if leg.call_id in self.ringing:
                await self._end("rejected")
            elif self.state == CallState.ANSWERED:
                await self._end("hangup")
            else:
                await self._end("cancelled")

    async def reject(self, leg: Leg, code: int | None, req_id: str | None) -> None:
        async with self.lock:
            if leg.direction != "incoming" or leg.call_id not in self.ringing:
                raise ProtocolError("not_incoming", req_id=req_id, call_id=leg.call_id)
            reason = REJECT_REASONS.get(603 if code is None else code)
            if reason is None:
                raise ProtocolError("bad_request", "'code' must be 486 or 603.", req_id=req_id, call_id=leg.call_id)
            await self._end(reason)

    async def control(self, leg: Leg, frame: Frame) -> None:
        """An in-call request (hold, mute, DTMF, ...), applied under the call's lock."""
        from zorio_widget.calls.controls import CONTROLS

        async with self.lock:
            if leg not in self.legs:
                raise ProtocolError("unknown_call", req_id=frame.req_id, call_id=leg.call_id)
            await CONTROLS[frame.type](self, leg, frame)

    async def relay_digits(self, leg: Leg, digits: str, *, regenerate: bool = True) -> None:
        """Digits from `leg` (signalling or RFC 4733): tones to the far side, reports to both."""
        peer = self.peer_of(leg)
        if regenerate:
            await self.bridge.send_dtmf(peer.media if peer is not None else leg.media, digits)
        for digit in digits:
            for party in (leg, peer):
                if party is not None:
                    await party.send("call.dtmf_received", digit=digit)

    async def digit_from_media(self, leg: Leg, digit: str) -> None:
        """A digit the bridge detected in `leg`'s media (RFC 4733 event or in-band tone)."""
        async with self.lock:
            if self.state == CallState.ANSWERED and leg in self.legs:
                # In-band tones already travel in the relayed audio; only events need regenerating.
                await self.relay_digits(leg, digit, regenerate=not leg.extra.get("inband_dtmf"))

    async def media_failed(self, leg: Leg, *, never_connected: bool = False) -> None:
        """ICE/DTLS failed or the peer closed its connection: the leg cannot carry audio. A leg
        whose media never connected ends the call `failed`, even a call already answered."""
        logger.warning("call %s: media of leg %s failed", self.uuid, leg.call_id)
        await self.leg_gone(leg, answered_reason="failed" if never_connected else "hangup")

    async def leg_gone(self, leg: Leg, answered_reason: str = "hangup") -> None:
        """The leg's device disconnected (or its media failed): end what depends on it."""
        async with self.lock:
            if not self.is_live or leg not in self.legs:
                return
            if leg.call_id in self.ringing and len(self.ringing) > 1:
                del self.ringing[leg.call_id]
                self.board.forget_leg(leg)
                await leg.media.close()
            elif self.state == CallState.ANSWERED:
                await self._end(answered_reason)
            elif leg is self.caller:
                await self._end("cancelled")
            else:
                await self._end("failed")

    # --- ending -----------------------------------------------------------------------------------

    async def _drop_ringing(self, reason: str) -> None:
        dropped, self.ringing = list(self.ringing.values()), {}
        for leg in dropped:
            self.board.forget_leg(leg)
            await leg.send("call.ended", reason=reason)
        await asyncio.gather(*(leg.media.close() for leg in dropped))

    def _cancel_ring_timer(self) -> None:
        timer, self._ring_timer = self._ring_timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def mark_answered(self) -> None:
        self._apply(CallEvent.ANSWER)
        self.answered_at = timezone.now()
        await records.update_record(self.uuid, answered_at=self.answered_at)

    async def end_locked(self, reason: str, **record_fields: Any) -> None:
        """`_end` for callers that already hold this session's lock (transfers)."""
        await self._end(reason, **record_fields)

    async def _end(self, reason: str, **record_fields: Any) -> None:
        """Ends the call for every leg: each gets `call.ended`, media is freed, the record closed."""
        if not self.is_live:
            return
        self._apply(CallEvent.END)
        self._cancel_ring_timer()
        legs = self.legs
        self.ringing = {}
        for leg in legs:
            self.board.forget_leg(leg)
        for leg in legs:
            await leg.send("call.ended", reason=reason)
        await asyncio.gather(*(leg.media.close() for leg in legs), return_exceptions=True)
        self.board.forget_session(self)
        if self.consult_of is not None:
            from zorio_widget.calls.transfer import resume_after_consult

            original, agent = self.consult_of
            self.consult_of = None
            self.board.spawn(resume_after_consult(original, agent))
        try:
            await records.finish_record(self.uuid, reason, self.answered_at, **record_fields)
        finally:
            if self.state == CallState.WRAP_UP:
                self._apply(CallEvent.CLOSE)
