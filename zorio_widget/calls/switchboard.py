"""The process's calls: who is registered here (presence), every live leg, the capacity guard.

A call's media, and so its session and every one of its legs, lives in one process (its owner);
this registry is that process's. What lies in other processes of a cluster (devices registered
there, their calls, the tenant's slots they hold) comes from its `directory` (`directory.py`:
`Alone` when there are no others), and a leg whose party sits elsewhere simply has an endpoint
that reaches it there (zorio_widget/cluster/). It is the calls floor's top: it owns the bridge,
makes legs' media (`media_factory`), holds the originator of each target kind (`originators`)
and dispatches every request on a leg (`REQUESTS`); each `CallSession` sees it as its `Board`.
It is reached through `get_switchboard()`; tests build their own (with fakes for the media,
tests/calls/fakes.py).
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine, Mapping
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from zorio_widget.calls import controls, messaging, recording, transfer
from zorio_widget.calls.device import Device
from zorio_widget.calls.directory import Alone, Directory
from zorio_widget.calls.legs import Endpoint, MediaFactory, MediaPort
from zorio_widget.calls.limits import CallLimits, CallQuota
from zorio_widget.calls.lines import LineClaim, LineClaims, lines_of
from zorio_widget.calls.memory import release_free_memory
from zorio_widget.calls.ownership import RecordHeartbeat
from zorio_widget.calls.placing import place_call, read_placement
from zorio_widget.calls.routing import InvalidTarget, RouteKind, clean_destination
from zorio_widget.calls.session import CallSession, Control, Leg, Originator
from zorio_widget.calls.states import CallState
from zorio_widget.calls.summary import summary as leg_summary
from zorio_widget.calls.targets import BUILT_IN_ORIGINATORS
from zorio_widget.media import Bridge, CallCapacity, MediaLeg
from zorio_widget.protocol.errors import PROTOCOL_ERRORS
from zorio_widget.protocol.messages import Frame, ProtocolError

logger = logging.getLogger(__name__)

IDLE_RELEASE_DELAY_S = 2.0
"""Seconds without calls before memory is given back (``release_free_memory``)."""
MEDIA_CONNECT_TIMEOUT_S = 15.0
RECORD_HEARTBEAT_S = 30.0

REQUESTS: dict[str, Control] = {
    "call.answer": controls.answer,
    "call.hangup": controls.hangup,
    "call.reject": controls.reject,
    "call.hold": controls.hold,
    "call.unhold": controls.unhold,
    "call.mute": controls.mute,
    "call.unmute": controls.unmute,
    "call.dtmf": controls.dtmf,
    "call.transfer": transfer.blind_transfer,
    "call.attended_transfer": transfer.attended_transfer,
    "call.complete_transfer": transfer.complete_transfer,
    "sdp.answer": controls.sdp_answer,
    "sdp.offer": controls.sdp_offer,
    "call.record": recording.record_request,
    "call.message": messaging.message_request,
}
"""Every request on an existing leg that runs under its call's lock, by message type
(`Switchboard.handle`; ICE candidates go straight to the leg's media)."""
MEDIA_REQUESTS = ("ice.candidate", "ice.done")


class Switchboard:
    def __init__(self, *, max_calls: int, ring_timeout_s: float, public_ip: str = "",
                 reattach_grace_s: float = 0.0, idle_release_delay_s: float = IDLE_RELEASE_DELAY_S,
                 media_connect_timeout_s: float = MEDIA_CONNECT_TIMEOUT_S,
                 record_heartbeat_s: float = RECORD_HEARTBEAT_S, bridge: Bridge | None = None,
                 media_factory: MediaFactory | None = None,
                 originators: Mapping[RouteKind, Originator] | None = None,
                 directory: Directory | None = None) -> None:
        """`bridge`, `media_factory`: who hears what and how a leg's media is made (an aiortc
        `MediaLeg` by default); `originators`: added to or replacing the built-in target kinds;
        `directory`: the other processes of a cluster (none by default)."""
        #: Who hears what, for every call of this process (each session is given it).
        self.bridge = bridge or Bridge()
        self.directory: Directory = directory or Alone()
        #: False once the process drains (SIGTERM): new calls get `draining`, live ones go on.
        self.accepting = True
        self._media_factory = media_factory or self._aiortc_media
        self.originators: dict[RouteKind, Originator] = {**BUILT_IN_ORIGINATORS, **(originators or {})}
        self.capacity = CallCapacity(max_calls)
        self.quota = CallQuota()
        #: Lines of extensions that this process's calls claimed (lines.py).
        self.claims = LineClaims(lambda: self.directory.calls_changed())
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
        #: Legs whose device went away, with the re-attach grace of the current drop (at most
        #: one per leg: a new drop or a re-attach cancels it).
        self._detached: dict[Leg, asyncio.TimerHandle] = {}
        #: When each leg's current media must have connected by (`expect_media`).
        self._media_deadlines: dict[Leg, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    # --- presence -----------------------------------------------------------------------------

    def register(self, device: Device) -> list[Leg]:
        """Adds a device to its extension's presence; returns the detached live legs it takes over."""
        self.presence.setdefault((device.tenant_id, device.number), {})[device.device_id] = device
        reattached = [
            leg for leg in self._detached
            if leg.endpoint.tenant_id == device.tenant_id and leg.endpoint.number == device.number
        ]
        for leg in reattached:
            logger.info("call %s: leg %s re-attached to device %s", leg.session.uuid, leg.call_id, device.device_id)
            self._detached.pop(leg).cancel()
            leg.reattach(device)
            self.directory.leg_settled(device.tenant_id, device.number, leg.call_id)
        return reattached

    def reattach_leg(self, call_id: str, endpoint: Endpoint) -> Leg | None:
        """A detached leg named by its `call_id` goes on with `endpoint` (the party's device,
        reconnected to another process); None when no such leg waits for that party."""
        leg = self.legs.get(call_id)
        if leg is None or leg not in self._detached or (leg.endpoint.tenant_id, leg.endpoint.number) != (
                endpoint.tenant_id, endpoint.number):
            return None
        logger.info("call %s: leg %s re-attached to a device elsewhere", leg.session.uuid, call_id)
        self._detached.pop(leg).cancel()
        leg.reattach(endpoint)
        self.directory.leg_settled(endpoint.tenant_id, endpoint.number, call_id)
        return leg

    async def unregister(self, device: Device) -> None:
        """The device's socket closed: out of presence, and its calls let go (`release`)."""
        devices = self.presence.get((device.tenant_id, device.number), {})
        devices.pop(device.device_id, None)
        if not devices:
            self.presence.pop((device.tenant_id, device.number), None)
        await self.release(device)

    async def release(self, endpoint: Endpoint) -> None:
        """The party's endpoint went away (its socket here, or its process elsewhere). Connected
        calls wait `reattach_grace_s` for a reconnect (their media keeps running); anything else
        ends now."""
        for leg in self.calls_of(endpoint):
            if leg.session.state == CallState.ANSWERED and self.reattach_grace_s > 0:
                # Each drop has its own grace; a re-attach cancels it, so an earlier drop's timer
                # can never end the call after a later reconnect.
                self._cancel(self._detached, leg)
                self._detached[leg] = asyncio.get_running_loop().call_later(
                    self.reattach_grace_s, self._grace_over, leg)
                self.directory.leg_detached(endpoint.tenant_id, endpoint.number, leg.call_id)
            else:
                await leg.session.leg_gone(leg)
        self._when_idle()

    def _grace_over(self, leg: Leg) -> None:
        self.spawn(self._end_if_still_detached(leg, self._detached.get(leg)))

    async def _end_if_still_detached(self, leg: Leg, grace: asyncio.TimerHandle | None) -> None:
        if grace is not None and self._detached.get(leg) is grace:
            del self._detached[leg]
            self.directory.leg_settled(leg.endpoint.tenant_id, leg.endpoint.number, leg.call_id)
            logger.info("call %s: leg %s not re-attached within %.0f s", leg.session.uuid, leg.call_id,
                        self.reattach_grace_s)
            await leg.session.leg_gone(leg)

    def devices_here(self, tenant_id: int, number: str) -> list[Device]:
        return list(self.presence.get((tenant_id, number), {}).values())

    async def devices_of(self, tenant_id: int, number: str) -> list[Device]:
        """Every device of the extension: registered here, then on the cluster's other processes."""
        return self.devices_here(tenant_id, number) + await self.directory.devices_elsewhere(tenant_id, number)

    async def is_busy(self, tenant_id: int, number: str, excluding: CallSession | None = None) -> bool:
        return await self.live_calls_of(tenant_id, number, excluding) > 0

    async def live_calls_of(self, tenant_id: int, number: str, excluding: CallSession | None = None) -> int:
        """Live calls involving the extension, here (but `excluding`) and elsewhere."""
        here = self.live_calls_here(tenant_id, number, excluding)
        return here + await self.directory.calls_elsewhere(tenant_id, number)

    def live_calls_here(self, tenant_id: int, number: str, excluding: CallSession | None = None) -> int:
        return sum(1 for s in self.sessions if s.is_live and s is not excluding and s.involves(tenant_id, number))

    async def claim_line(self, tenant_id: int, number: str, excluding: CallSession | None = None,
                         holder: CallSession | None = None, limit: int | None = None) -> LineClaim | None:
        """One of the extension's `limit` lines (default: what `holder`'s route allows, else 1) for one
        call (`holder`, or until handed to one), unless calls and claims hold them all; None: busy."""
        if holder is not None and (held := self.claims.held_by(holder, tenant_id, number)) is not None:
            return held
        if limit is None:
            limit = 1 if holder is None else lines_of(holder.route.call_waiting, holder.limits.per_extension)
        here = {call for call, t, n in self._parties() if (t, n) == (tenant_id, number)}
        here = (here | self.claims.holders_of(tenant_id, number)) - {excluding}
        return await self.claims.claim(tenant_id, number, holder, len(here), limit, self.directory.claim_line)

    def lines(self) -> Counter[tuple[int, str]]:
        """Live calls of this process by (tenant, number) of each party, a confirmed claim
        counted as its call: what other processes' busy checks read (`Directory.calls_changed`)."""
        return Counter((tenant_id, number) for _, tenant_id, number in self._parties() | set(self.claims.confirmed()))

    def _parties(self) -> set[tuple[object, int, str]]:
        """(call, tenant, number) of each party of the live calls here. From the table of legs,
        which has a leg from the moment it is made (a session lists a ringing leg only once its
        offer is made), so no change is missed between two events."""
        return {(leg.session, leg.session.tenant_id, leg.endpoint.number)
                for leg in list(self.legs.values()) if leg.session.is_live}

    # --- legs and their media -------------------------------------------------------------------

    def _aiortc_media(self, media_id: str) -> MediaPort:
        return MediaLeg(media_id, public_address=self.public_ip)

    def new_media(self, media_id: str) -> MediaPort:
        """The media of a new leg, or a party's replacement (its bridge id must be new)."""
        return self._media_factory(media_id)

    def originator_for(self, kind: RouteKind) -> Originator:
        return self.originators[kind]

    def enlist(self, leg: Leg) -> None:
        self.legs[leg.call_id] = leg
        self.directory.calls_changed()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def forget_leg(self, leg: Leg) -> None:
        if leg in self._detached:
            self.directory.leg_settled(leg.endpoint.tenant_id, leg.endpoint.number, leg.call_id)
        self._cancel(self._detached, leg)
        self._cancel(self._media_deadlines, leg)
        self.legs.pop(leg.call_id, None)
        self.directory.calls_changed()

    @staticmethod
    def _cancel(timers: dict[Leg, asyncio.TimerHandle], leg: Leg) -> None:
        timer = timers.pop(leg, None)
        if timer is not None:
            timer.cancel()

    def expect_media(self, leg: Leg) -> None:
        """The leg's current media must connect (ICE + DTLS) within `media_connect_timeout_s`, or
        the leg fails: a client that never connects media cannot keep a call slot."""
        media = leg.media
        self._cancel(self._media_deadlines, leg)

        def check() -> None:
            self._media_deadlines.pop(leg, None)
            if leg.media is media and media.state != "connected" and leg.call_id in self.legs:
                logger.warning("call %s: media of leg %s did not connect within %.0f s", leg.session.uuid,
                               leg.call_id, self.media_connect_timeout_s)
                self.spawn(leg.session.media_failed(leg, never_connected=True))

        self._media_deadlines[leg] = asyncio.get_running_loop().call_later(self.media_connect_timeout_s, check)

    # --- calls and their slots -------------------------------------------------------------------

    async def take_slot(self, tenant_id: int, number: str, limits: CallLimits) -> str | None:
        """A call slot for a session placed by `number`: the tenant's and the extension's
        limits (in this process, then across the cluster), then the process's capacity.
        Returns why not, or None once taken."""
        refused = self.quota.try_take(tenant_id, number, limits)
        if refused is not None:
            return refused
        if not self.capacity.try_acquire():
            self.quota.give_back(tenant_id, number)
            return PROTOCOL_ERRORS["capacity"].message
        try:
            refused = await self.directory.take_slot(tenant_id, number, limits)
        except BaseException:
            refused = PROTOCOL_ERRORS["capacity"].message
            raise
        finally:
            if refused is not None:  # refused elsewhere (or failed): give this process's part back
                self.capacity.release()
                self.quota.give_back(tenant_id, number)
        if refused is None:
            self.directory.calls_changed()
        return refused

    def give_slot(self, tenant_id: int, number: str) -> None:
        self.capacity.release()
        self.quota.give_back(tenant_id, number)
        self.directory.give_slot(tenant_id, number)
        self.directory.calls_changed()

    def add_session(self, session: CallSession) -> None:
        self.sessions.add(session)
        self.heartbeat.ensure_running()

    def forget_session(self, session: CallSession) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.claims.release_held_by(session)
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

    # --- requests from devices ----------------------------------------------------------------

    def leg_for(self, device: Device, frame: Frame) -> Leg:
        """The live leg a frame names; `unknown_call` or `forbidden` when it is not this device's."""
        leg = self.legs.get(frame.call_id or "")
        if leg is None:
            raise ProtocolError("unknown_call", req_id=frame.req_id, call_id=frame.call_id)
        if leg.endpoint is not device:
            raise ProtocolError("forbidden", "This call belongs to another device or tenant.",
                                req_id=frame.req_id, call_id=frame.call_id)
        return leg

    def calls_of(self, endpoint: Endpoint) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.endpoint is endpoint]

    async def handle(self, leg: Leg, frame: Frame) -> None:
        """A request on one of the device's legs: a trickled ICE candidate goes to its media at
        once, anything else (`REQUESTS`) runs under that call's lock."""
        if frame.type in MEDIA_REQUESTS:
            await controls.ice_candidate(leg, frame)
            return
        await leg.session.run(REQUESTS[frame.type], leg, frame)

    async def create_call(self, device: Device, frame: Frame) -> None:
        data, req_id = frame.data, frame.req_id
        if not self.accepting:
            raise ProtocolError("draining", req_id=req_id)
        try:
            destination = clean_destination(data["destination"])
        except InvalidTarget as exc:
            raise ProtocolError("invalid_target", str(exc), req_id=req_id) from exc
        placement = await read_placement(device, destination)
        refused = await self.take_slot(device.tenant_id, device.number, placement.limits)
        if refused is not None:
            raise ProtocolError("capacity", refused, req_id=req_id)
        try:
            session = await place_call(self, device, placement, data["sdp"], data.get("options") or {}, req_id)
        except BaseException:
            self.give_slot(device.tenant_id, device.number)
            raise
        await session.start()

    #: What a re-attaching client needs to rebuild a call (`registered.calls`, summary.py).
    summary = staticmethod(leg_summary)


_switchboard: Switchboard | None = None


def switchboard_from_settings(**collaborators: Any) -> Switchboard:
    """A switchboard configured by the settings, with `collaborators` (`media_factory`, `directory`...);
    the originators of `CALL_ORIGINATORS` (target kinds served above the call layer: scenario routes)
    are added to the built-in ones, under those of `collaborators`."""
    configured = {RouteKind(kind): import_string(path) for kind, path in settings.CALL_ORIGINATORS.items()}
    collaborators["originators"] = {**configured, **(collaborators.get("originators") or {})}
    return Switchboard(
        max_calls=settings.MAX_CALLS_PER_PROCESS,
        ring_timeout_s=settings.RING_TIMEOUT_S,
        public_ip=settings.MEDIA_PUBLIC_IP,
        reattach_grace_s=settings.REATTACH_GRACE_S,
        media_connect_timeout_s=settings.MEDIA_CONNECT_TIMEOUT_S,
        record_heartbeat_s=settings.RECORD_HEARTBEAT_S,
        **collaborators,
    )


def use_switchboard(board: Switchboard) -> None:
    """Makes `board` the process's switchboard (zorio_widget/cluster/runtime.py, at start-up)."""
    global _switchboard
    _switchboard = board


def get_switchboard() -> Switchboard:
    global _switchboard
    if _switchboard is None:
        _switchboard = switchboard_from_settings()
    return _switchboard
