"""The process's calls: who is registered where (presence), every live leg, the capacity guard.

Both legs of a call live in one process (DESIGN.md §4b), so this registry is per process. It is
reached through `get_switchboard()`; tests may build their own.
"""

import asyncio
import logging
import re
import secrets
import uuid as uuid_lib
from collections.abc import Coroutine
from typing import Any

from django.conf import settings

from zorio_widget.calls import records
from zorio_widget.calls.device import Device
from zorio_widget.calls.limits import CallLimits, CallQuota, limits_of
from zorio_widget.calls.memory import release_free_memory
from zorio_widget.calls.ownership import RecordHeartbeat
from zorio_widget.calls.routing import InvalidTarget, clean_destination, resolve_route
from zorio_widget.calls.session import CallSession, Leg, LegDirection
from zorio_widget.calls.states import CallState
from zorio_widget.media import BadSdp, Bridge, CallCapacity, MediaLeg
from zorio_widget.signalling.protocol import PROTOCOL_ERRORS, Frame, ProtocolError

logger = logging.getLogger(__name__)

_CANDIDATE_LINE = re.compile(r"^a=(candidate:.+)$", re.MULTILINE)
_MID_LINE = re.compile(r"^a=mid:(\S+)$", re.MULTILINE)


def candidates_in(sdp: str) -> list[dict[str, Any]]:
    """The ICE candidates of an SDP, as `ice.candidate` fields (the server gathers before answering)."""
    mid_match = _MID_LINE.search(sdp)
    mid = mid_match.group(1) if mid_match else "0"
    return [
        {"candidate": line.strip(), "sdp_mid": mid, "sdp_m_line_index": 0} for line in _CANDIDATE_LINE.findall(sdp)
    ]


IDLE_RELEASE_DELAY_S = 2.0
"""Seconds without calls before memory is given back (``release_free_memory``)."""
MEDIA_CONNECT_TIMEOUT_S = 15.0
RECORD_HEARTBEAT_S = 30.0


class Switchboard:
    def __init__(self, *, max_calls: int, ring_timeout_s: float, public_ip: str = "",
                 reattach_grace_s: float = 0.0, idle_release_delay_s: float = IDLE_RELEASE_DELAY_S,
                 media_connect_timeout_s: float = MEDIA_CONNECT_TIMEOUT_S,
                 record_heartbeat_s: float = RECORD_HEARTBEAT_S, bridge: Bridge | None = None) -> None:
        #: Who hears what, for every call of this process (each session is given it).
        self.bridge = bridge or Bridge()
        self.capacity = CallCapacity(max_calls)
        self.quota = CallQuota()
        self.media_connect_timeout_s = media_connect_timeout_s
        self.heartbeat = RecordHeartbeat(record_heartbeat_s)
        self.idle_release_delay_s = idle_release_delay_s
        self._release_timer: asyncio.TimerHandle | None = None
        self.ring_timeout_s = ring_timeout_s
        self.reattach_grace_s = reattach_grace_s
        self.public_ip = public_ip
        self.presence: dict[tuple[int, str], dict[str, Device]] = {}
        self.legs: dict[str, Leg] = {}
        self.sessions: set[CallSession] = set()
        self._tasks: set[asyncio.Future[None]] = set()

    # --- presence -----------------------------------------------------------------------------

    def register(self, device: Device) -> list[Leg]:
        """Adds a device to its extension's presence; returns the detached live legs it takes over."""
        self.presence.setdefault((device.tenant_id, device.number), {})[device.device_id] = device
        reattached = [
            leg for leg in self.legs.values()
            if leg.detached and leg.device.tenant_id == device.tenant_id and leg.device.number == device.number
        ]
        for leg in reattached:
            logger.info("call %s: leg %s re-attached to device %s", leg.session.uuid, leg.call_id, device.device_id)
            leg.device, leg.detached = device, False
            leg.cancel_grace()
        return reattached

    async def unregister(self, device: Device) -> None:
        """The device's socket closed. Connected calls wait `reattach_grace_s` for a reconnect
        (their media keeps running); anything else ends now."""
        devices = self.presence.get((device.tenant_id, device.number), {})
        devices.pop(device.device_id, None)
        if not devices:
            self.presence.pop((device.tenant_id, device.number), None)
        for leg in [leg for leg in self.legs.values() if leg.device is device]:
            if leg.session.state == CallState.ANSWERED and self.reattach_grace_s > 0:
                leg.detached = True
                # Each drop has its own grace; a re-attach cancels it (Leg.cancel_grace), so an
                # earlier drop's timer can never end the call after a later reconnect.
                leg.cancel_grace()
                leg.grace_timer = asyncio.get_running_loop().call_later(
                    self.reattach_grace_s, self._grace_over, leg)
            else:
                await leg.session.leg_gone(leg)
        self._when_idle()

    def _grace_over(self, leg: Leg) -> None:
        leg.grace_timer = None
        self.spawn(self._end_if_still_detached(leg))

    async def _end_if_still_detached(self, leg: Leg) -> None:
        if leg.detached:
            logger.info("call %s: leg %s not re-attached within %.0f s", leg.session.uuid, leg.call_id,
                        self.reattach_grace_s)
            await leg.session.leg_gone(leg)

    def devices_of(self, tenant_id: int, number: str) -> list[Device]:
        return list(self.presence.get((tenant_id, number), {}).values())

    def is_busy(self, tenant_id: int, number: str, excluding: CallSession | None = None) -> bool:
        return self.live_calls_of(tenant_id, number, excluding) > 0

    def live_calls_of(self, tenant_id: int, number: str, excluding: CallSession | None = None) -> int:
        return sum(1 for s in self.sessions if s.is_live and s is not excluding and s.involves(tenant_id, number))

    # --- legs -----------------------------------------------------------------------------------

    def new_leg(self, device: Device, direction: LegDirection, session: CallSession) -> Leg:
        call_id = "c" + secrets.token_hex(8)
        leg = Leg(call_id, device, direction, MediaLeg(call_id, public_address=self.public_ip), session)
        self.wire_media(leg)
        self.legs[call_id] = leg
        return leg

    def new_media(self, leg: Leg) -> MediaLeg:
        """A replacement peer connection for a live leg (its bridge id must be new)."""
        return MediaLeg(f"{leg.call_id}.{secrets.token_hex(2)}", public_address=self.public_ip)

    def wire_media(self, leg: Leg) -> None:
        """Media events become session work; the leg's *current* session is looked up each time."""
        leg.media.on_failed = lambda _media: self.spawn(leg.session.media_failed(leg))
        leg.media.on_dtmf = lambda digit: self.spawn(leg.session.digit_from_media(leg, digit))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def forget_leg(self, leg: Leg) -> None:
        leg.cancel_grace()
        leg.cancel_media_deadline()
        self.legs.pop(leg.call_id, None)

    def expect_media(self, leg: Leg) -> None:
        """The leg's current media must connect (ICE + DTLS) within `media_connect_timeout_s`, or
        the leg fails: a client that never connects media cannot keep a call slot."""
        media = leg.media
        leg.cancel_media_deadline()

        def check() -> None:
            leg.media_deadline = None
            if leg.media is media and media.state != "connected" and leg.call_id in self.legs:
                logger.warning("call %s: media of leg %s did not connect within %.0f s", leg.session.uuid,
                               leg.call_id, self.media_connect_timeout_s)
                self.spawn(leg.session.media_failed(leg, never_connected=True))

        leg.media_deadline = asyncio.get_running_loop().call_later(self.media_connect_timeout_s, check)

    def take_slot(self, tenant_id: int, number: str, limits: CallLimits) -> str | None:
        """A call slot for a session placed by `number`: the tenant's and the extension's
        limits, then the process's capacity. Returns why not, or None once taken."""
        refused = self.quota.try_take(tenant_id, number, limits)
        if refused is not None:
            return refused
        if not self.capacity.try_acquire():
            self.quota.give_back(tenant_id, number)
            return PROTOCOL_ERRORS["capacity"].message
        return None

    def give_slot(self, tenant_id: int, number: str) -> None:
        self.capacity.release()
        self.quota.give_back(tenant_id, number)

    def forget_session(self, session: CallSession) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.give_slot(session.tenant_id, session.origin.number)
            self._when_idle()

    def _when_idle(self) -> None:
        """With no call left, give memory back once things settle: an ended call's legs and a
        closed socket's consumer are cyclic garbage (peer connections, tasks, event emitters) that
        Python's automatic collector may leave for a long time in a quiet process, holding their
        memory. Debounced: a burst of hang-ups and disconnects triggers one release, after the
        legs have finished closing, and only if the process is still without calls by then."""
        if self.sessions:
            return
        self.heartbeat.stop()
        if self._release_timer is not None:
            self._release_timer.cancel()
        self._release_timer = asyncio.get_running_loop().call_later(self.idle_release_delay_s, self._release_if_idle)

    def _release_if_idle(self) -> None:
        self._release_timer = None
        if not self.sessions:
            self.spawn(asyncio.to_thread(release_free_memory))

    def leg_for(self, device: Device, frame: Frame) -> Leg:
        """The live leg a frame names; `unknown_call` or `forbidden` when it is not this device's."""
        leg = self.legs.get(frame.call_id or "")
        if leg is None:
            raise ProtocolError("unknown_call", req_id=frame.req_id, call_id=frame.call_id)
        if leg.device is not device:
            raise ProtocolError("forbidden", "This call belongs to another device or tenant.",
                                req_id=frame.req_id, call_id=frame.call_id)
        return leg

    def calls_of(self, device: Device) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.device is device]

    # --- placing a call -----------------------------------------------------------------------

    async def create_call(self, device: Device, frame: Frame) -> None:
        data, req_id = frame.data, frame.req_id
        try:
            destination = clean_destination(data["destination"])
        except InvalidTarget as exc:
            raise ProtocolError("invalid_target", str(exc), req_id=req_id) from exc
        options = data.get("options") or {}
        limits = await limits_of(device.tenant_id)
        refused = self.take_slot(device.tenant_id, device.number, limits)
        if refused is not None:
            raise ProtocolError("capacity", refused, req_id=req_id)
        session: CallSession | None = None
        try:
            route = await resolve_route(device.tenant_id, destination)
            session = CallSession(self, uuid_lib.uuid4(), device, route, limits, self.bridge)
            caller = self.new_leg(device, "outgoing", session)
            session.caller = caller
            caller.extra["caller_name"] = str(options.get("caller_name") or "")[:120]
            caller.extra["inband_dtmf"] = bool(options.get("inband_dtmf"))
            caller.media.set_inband_dtmf_detection(caller.extra["inband_dtmf"])
            try:
                answer = await caller.media.accept_offer(data["sdp"])
            except BadSdp as exc:
                raise ProtocolError("bad_sdp", str(exc), req_id=req_id) from exc
            await session.write_record(**records.record_options(options))
        except BaseException:
            if session is not None and session.caller is not None:
                self.forget_leg(session.caller)
                await session.caller.media.close()
            self.give_slot(device.tenant_id, device.number)
            raise
        self.sessions.add(session)
        self.heartbeat.ensure_running()
        self.expect_media(caller)
        logger.info("call %s: %s -> %s (%s)", session.uuid, device.number, destination, route.kind)
        await caller.send("call.trying", req_id=req_id, uuid=str(session.uuid))
        await caller.send("sdp.answer", sdp=answer, req_id=req_id)
        for candidate in candidates_in(answer):
            await caller.send("ice.candidate", **candidate)
        await session.start()


_switchboard: Switchboard | None = None


def get_switchboard() -> Switchboard:
    global _switchboard
    if _switchboard is None:
        _switchboard = Switchboard(
            max_calls=settings.MAX_CALLS_PER_PROCESS,
            ring_timeout_s=settings.RING_TIMEOUT_S,
            public_ip=settings.MEDIA_PUBLIC_IP,
            reattach_grace_s=settings.REATTACH_GRACE_S,
            media_connect_timeout_s=settings.MEDIA_CONNECT_TIMEOUT_S,
            record_heartbeat_s=settings.RECORD_HEARTBEAT_S,
        )
    return _switchboard
