"""Blind and attended transfer (`call.transfer`, `call.attended_transfer`, `call.complete_transfer`).

A transfer never changes the state of an existing call: the moved party's leg is handed, with
its `call_id` and its media, to a NEW call (`CallSession.open`: its own uuid and record, which
takes the leg with `take_caller`/`take_callee`), and the old call ends for the transferring agent
with reason `transferred`. Every target check runs before anything moves, so a busy or unknown
target leaves the original call as it was; the line of a target without call waiting is claimed
then (lines.py) and handed to the new call, so no other call can take it in between. Each party that stays is told its new far party and
record (`call.party`, docs/DESIGN.md §4), whatever kind of endpoint it is.
"""

from zorio_widget.calls.controls import connected_peer, put_on_hold, take_off_hold
from zorio_widget.calls.lines import LineClaim
from zorio_widget.calls.routing import InvalidTarget, Route, RouteKind, clean_destination, resolve_route
from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.protocol.messages import Frame, ProtocolError


async def _target_route(session: CallSession, leg: Leg, peer: Leg, frame: Frame,
                        placed_by: Leg) -> tuple[str, Route, LineClaim | None]:
    """Checks the target (claiming its line when it has no call waiting), then takes the new
    call's slot for `placed_by`'s extension."""
    def refuse(code: str, message: str) -> ProtocolError:
        return ProtocolError(code, message, req_id=frame.req_id, call_id=leg.call_id)

    try:
        number = clean_destination(frame.data["target"])
    except InvalidTarget as exc:
        raise refuse("invalid_target", str(exc)) from exc
    route = await resolve_route(session.tenant_id, number)
    if route.kind == RouteKind.UNKNOWN:
        raise refuse("invalid_target", f"No extension or service {number}.")
    if number in (leg.endpoint.number, peer.endpoint.number):
        raise refuse("invalid_target", "A call cannot be transferred to one of its own parties.")
    board, line = session.board, None
    if route.kind == RouteKind.EXTENSION:
        if not await board.devices_of(session.tenant_id, number):
            raise refuse("busy", f"{number} is not available.")
        if not route.call_waiting:
            line = await board.claim_line(session.tenant_id, number, excluding=session)
            if line is None:
                raise refuse("busy", f"{number} is busy.")
    refused: str | None = "not taken"
    try:
        refused = await board.take_slot(session.tenant_id, placed_by.endpoint.number, session.limits)
    finally:
        if refused is not None and line is not None:  # no new call: the line is the target's again
            line.release()
    if refused is not None:
        raise refuse("capacity", refused)
    return number, route, line


async def tell_far_party(leg: Leg, number: str, name: str) -> None:
    """`call.party`: who `leg`'s party talks to now, and the record its leg is in now."""
    await leg.send("call.party", uuid=str(leg.session.uuid), number=number, name=name)


def shown_as(leg: Leg) -> str:
    """The name a leg's party is shown with to the other side (as `call.incoming.from_name`)."""
    return leg.caller_name or leg.endpoint.name


async def _open_for(session: CallSession, party: Leg, route: Route, line: LineClaim | None = None,
                    **meta: str) -> CallSession:
    """The new call of a moved party, whose slot (and target's `line`) is already taken: the new
    call holds them, or they are given back if it fails."""
    try:
        new = await CallSession.open(session.board, route, party.endpoint, session.limits, meta=meta)
    except BaseException:
        session.board.give_slot(session.tenant_id, party.endpoint.number)
        if line is not None:
            line.release()
        raise
    if line is not None:
        line.hand_to(new)
    return new


async def blind_transfer(session: CallSession, leg: Leg, frame: Frame) -> None:
    peer = connected_peer(session, leg, frame)
    number, route, line = await _target_route(session, leg, peer, frame, placed_by=peer)
    new = await _open_for(session, peer, route, line, transferred_from=str(session.uuid),
                          transferred_by=leg.endpoint.number)
    new.take_caller(peer)
    session.bridge.disconnect(peer.media)  # neither holds the other any more
    await tell_far_party(peer, number, route.name)
    await session.end("transferred", transferred_to=number)
    session.board.spawn(new.start())


async def attended_transfer(session: CallSession, leg: Leg, frame: Frame) -> None:
    peer = connected_peer(session, leg, frame)
    if session.consult is not None and session.consult.is_live:
        raise ProtocolError("invalid_state", "A consult call is already in progress.", req_id=frame.req_id,
                            call_id=leg.call_id)
    _number, route, line = await _target_route(session, leg, peer, frame, placed_by=leg)
    consult = await _open_for(session, leg, route, line, consult_for=str(session.uuid))
    if not leg.held:
        await put_on_hold(session, leg)
    consult_leg = consult.new_caller(leg.endpoint)
    session.begin_consult(consult)
    consult.when_ended(lambda: resume_after_consult(session, consult, leg))
    offer = await consult_leg.media.create_offer()
    session.board.expect_media(consult_leg)
    await consult_leg.send("call.trying", req_id=frame.req_id, uuid=str(consult.uuid))
    await consult_leg.send("sdp.offer", sdp=offer)
    session.board.spawn(consult.start())


async def complete_transfer(session: CallSession, leg: Leg, frame: Frame) -> None:
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
        refused = await session.board.take_slot(session.tenant_id, peer.endpoint.number, session.limits)
        if refused is not None:
            raise ProtocolError("capacity", refused, req_id=frame.req_id, call_id=leg.call_id)
        party = target.endpoint
        route = Route(RouteKind.EXTENSION, party.number, party.extension_id, party.name)
        joined = await _open_for(session, peer, route, transferred_from=str(session.uuid),
                                 consult=str(consult.uuid), transferred_by=leg.endpoint.number)
        session.end_consult()  # joined, not resumed
        joined.take_caller(peer)
        joined.take_callee(target)
        session.bridge.connect(peer.media, target.media)  # a new pair: no one holds
        await tell_far_party(peer, party.number, shown_as(target))
        await tell_far_party(target, peer.endpoint.number, shown_as(peer))
        await joined.mark_answered()
        await consult.end("transferred", transferred_to=peer.endpoint.number)
    await session.end("transferred", transferred_to=target.endpoint.number)
    await peer.send("call.resumed", by="remote")


async def resume_after_consult(session: CallSession, consult: CallSession, agent: Leg) -> None:
    """The consult call ended without a transfer: the held party gets the agent back."""
    async with session.lock:
        if session.consult is not consult:
            return  # completed (joined), or another consult replaced it
        session.end_consult()
        if session.state != CallState.ANSWERED or session.peer_of(agent) is None or not agent.held:
            return
        await take_off_hold(session, agent)
