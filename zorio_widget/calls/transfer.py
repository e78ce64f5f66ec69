"""Blind and attended transfer (DESIGN.md §4).

A transfer never changes the state of an existing call: the moved party's leg is handed, with
its `call_id` and its peer connection, to a NEW `CallSession` (its own uuid and record), and the
old session ends for the transferring agent with reason `transferred`. Every target check runs
before anything moves, so a busy or unknown target leaves the original call as it was.
"""

import uuid as uuid_lib
from typing import TYPE_CHECKING

from zorio_widget.calls.routing import InvalidTarget, Route, RouteKind, clean_destination, resolve_route
from zorio_widget.calls.states import CallState
from zorio_widget.signalling.protocol import Frame, ProtocolError

if TYPE_CHECKING:
    from zorio_widget.calls.session import CallSession, Leg


def connected_peer(session: "CallSession", leg: "Leg", frame: Frame) -> "Leg":
    peer = session.peer_of(leg)
    if session.state != CallState.ANSWERED or peer is None:
        raise ProtocolError("invalid_state", "The call is not connected to another party.", req_id=frame.req_id,
                            call_id=leg.call_id)
    return peer


async def _target_route(session: "CallSession", leg: "Leg", peer: "Leg", frame: Frame,
                        placed_by: "Leg") -> tuple[str, Route]:
    """Checks the target, then takes the new session's call slot for `placed_by`'s extension."""
    def refuse(code: str, message: str) -> ProtocolError:
        return ProtocolError(code, message, req_id=frame.req_id, call_id=leg.call_id)

    try:
        number = clean_destination(frame.data["target"])
    except InvalidTarget as exc:
        raise refuse("invalid_target", str(exc)) from exc
    route = await resolve_route(session.tenant_id, number)
    if route.kind == RouteKind.UNKNOWN:
        raise refuse("invalid_target", f"No extension or service {number}.")
    if number in (leg.device.number, peer.device.number):
        raise refuse("invalid_target", "A call cannot be transferred to one of its own parties.")
    board = session.board
    if route.kind == RouteKind.EXTENSION:
        if not board.devices_of(session.tenant_id, number):
            raise refuse("busy", f"{number} is not available.")
        if not route.call_waiting and board.is_busy(session.tenant_id, number, excluding=session):
            raise refuse("busy", f"{number} is busy.")
    refused = board.take_slot(session.tenant_id, placed_by.device.number, session.limits)
    if refused is not None:
        raise refuse("capacity", refused)
    return number, route


async def _new_session(session: "CallSession", device_leg: "Leg", route: Route, **meta: str) -> "CallSession":
    """A session for a moved party (its capacity slot is already taken)."""
    from zorio_widget.calls.session import CallSession

    new = CallSession(session.board, uuid_lib.uuid4(), device_leg.device, route, session.limits, session.bridge)
    await new.write_record(meta=meta)
    session.board.sessions.add(new)
    return new


async def blind_transfer(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    peer = connected_peer(session, leg, frame)
    number, route = await _target_route(session, leg, peer, frame, placed_by=peer)
    try:
        new = await _new_session(session, peer, route, transferred_from=str(session.uuid),
                                 transferred_by=leg.device.number)
    except BaseException:
        session.board.give_slot(session.tenant_id, peer.device.number)
        raise
    session.detach(peer)
    peer.session, new.caller = new, peer
    session.bridge.disconnect(peer.media)  # neither holds the other any more
    await session.end_locked("transferred", transferred_to=number)
    session.board.spawn(new.start())


async def attended_transfer(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    peer = connected_peer(session, leg, frame)
    if session.consult is not None and session.consult.is_live:
        raise ProtocolError("invalid_state", "A consult call is already in progress.", req_id=frame.req_id,
                            call_id=leg.call_id)
    number, route = await _target_route(session, leg, peer, frame, placed_by=leg)
    try:
        consult = await _new_session(session, leg, route, consult_for=str(session.uuid))
    except BaseException:
        session.board.give_slot(session.tenant_id, leg.device.number)
        raise
    if not leg.held:
        session.bridge.hold(leg.media)
        await leg.send("call.held", by="local")
        await peer.send("call.held", by="remote")
    consult_leg = session.board.new_leg(leg.device, "outgoing", consult)
    consult.caller = consult_leg
    consult.consult_of = (session, leg)
    session.consult = consult
    offer = await consult_leg.media.create_offer()
    session.board.expect_media(consult_leg)
    await consult_leg.send("call.trying", req_id=frame.req_id, uuid=str(consult.uuid))
    await consult_leg.send("sdp.offer", sdp=offer)
    session.board.spawn(consult.start())


async def complete_transfer(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    consult = session.consult
    peer = session.peer_of(leg)
    if consult is None or peer is None or session.state != CallState.ANSWERED:
        raise ProtocolError("invalid_state", "There is no consult call to complete.", req_id=frame.req_id,
                            call_id=leg.call_id)
    async with consult.lock:
        target = consult.callee
        if consult.state != CallState.ANSWERED or target is None:
            raise ProtocolError("invalid_state", "The consult call is not answered yet.", req_id=frame.req_id,
                                call_id=leg.call_id)
        refused = session.board.take_slot(session.tenant_id, peer.device.number, session.limits)
        if refused is not None:
            raise ProtocolError("capacity", refused, req_id=frame.req_id, call_id=leg.call_id)
        route = Route(RouteKind.EXTENSION, target.device.number, target.device.extension_id, target.device.name)
        try:
            joined = await _new_session(session, peer, route, transferred_from=str(session.uuid),
                                        consult=str(consult.uuid), transferred_by=leg.device.number)
        except BaseException:
            session.board.give_slot(session.tenant_id, peer.device.number)
            raise
        session.consult, consult.consult_of = None, None
        session.detach(peer)
        consult.detach(target)
        peer.session = target.session = joined
        joined.caller, joined.callee = peer, target
        session.bridge.connect(peer.media, target.media)  # a new pair: no one holds
        await joined.mark_answered()
        await consult.end_locked("transferred", transferred_to=peer.device.number)
    await session.end_locked("transferred", transferred_to=target.device.number)
    await peer.send("call.resumed", by="remote")


async def resume_after_consult(session: "CallSession", agent: "Leg") -> None:
    """The consult call ended without a transfer: the held party gets the agent back."""
    async with session.lock:
        session.consult = None
        peer = session.peer_of(agent)
        if session.state != CallState.ANSWERED or peer is None or not agent.held:
            return
        session.bridge.unhold(agent.media)
        await agent.send("call.resumed", by="local")
        await peer.send("call.resumed", by="remote")

