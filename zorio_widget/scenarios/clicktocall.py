"""Click-to-call from a partner's back-end (`POST /api/webphone/calls`): ring the agent, then dial.

A small scenario of the server's own: it calls the agent's extension (every device rings, showing
the number it will dial), and once the agent answers hands the agent's leg to `to` (a blind
transfer: the agent's call goes on, ringing the extension, the route, or, through the trunk, the
phone number). The call to `to` gets the request's `options` on its record (campaign, lead,
customer, caller name, meta) and is recorded when they ask for it. If the agent does not answer
within the ring timeout, nothing is dialled.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from zorio_widget.calls import records
from zorio_widget.calls.limits import limits_of
from zorio_widget.calls.recording import record_when_answered
from zorio_widget.calls.routing import InvalidTarget, Route, RouteKind, clean_destination, resolve_route
from zorio_widget.calls.session import Board, CallSession
from zorio_widget.scenarios.call import CONNECTED, Call
from zorio_widget.scenarios.events import CallEvents
from zorio_widget.scenarios.outbound import place
from zorio_widget.scenarios.runner import ScenarioError, ScenarioRun
from zorio_widget.scenarios.services import get_services

logger = logging.getLogger(__name__)

NAME = "click-to-call"


async def click_to_call(board: Board, tenant_id: int, agent_number: str, to: str,
                        options: dict[str, Any]) -> Call:
    """Rings `agent_number` (an extension of the tenant with a device) for a call to `to`; returns the
    agent's call (ringing). Raises `ScenarioError`: `bad_value`, `not_found`, `unavailable`, `capacity`.

    Runs in a context of its own: the calls outlive the HTTP request, whose context (Django's
    per-request thread for database calls) ends with it, and every task they start inherits it."""
    work = _click_to_call(board, tenant_id, agent_number, to, options)
    return await asyncio.get_running_loop().create_task(work, name="click-to-call", context=contextvars.Context())


async def _click_to_call(board: Board, tenant_id: int, agent_number: str, to: str,
                         options: dict[str, Any]) -> Call:
    try:
        destination = clean_destination(to)
    except (InvalidTarget, AttributeError) as exc:
        raise ScenarioError("bad_value", f"'to': {exc}") from exc
    agent_route = await resolve_route(tenant_id, agent_number)
    if agent_route.kind != RouteKind.EXTENSION:
        raise ScenarioError("not_found", f"'from': {agent_number} is not an extension of this tenant")
    if not await board.devices_of(tenant_id, agent_number):
        raise ScenarioError("unavailable", f"{agent_number} has no registered device")
    run = ScenarioRun(board, Route(RouteKind.SCENARIO, destination, name=str(options.get("caller_name") or destination),
                                   scenario=NAME), tenant_id, await limits_of(tenant_id), get_services())
    agent_call = await place(run, agent_route, destination, run.endpoint.name, None)
    run.spawn(_dial_when_answered(agent_call, destination, options), "dial")
    return agent_call


async def _dial_when_answered(agent_call: Call, destination: str, options: dict[str, Any]) -> None:
    if not agent_call.terminated:
        waits = [asyncio.ensure_future(agent_call.wait_for(CallEvents.Connected)),
                 asyncio.ensure_future(agent_call.ended())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
    if agent_call.state() != CONNECTED:
        return
    await _hand_over(agent_call, destination, options)


async def _hand_over(agent_call: Call, destination: str, options: dict[str, Any]) -> None:
    """The agent's leg becomes the caller of a new call to `destination` (like a blind transfer by
    the scenario, with the request's options on the new record); the first call ends `transferred`."""
    session, board = agent_call.session, agent_call.run.board
    async with session.lock:
        agent = session.peer_of(agent_call.own)
        if not session.is_live or agent is None:
            return
        route = await resolve_route(session.tenant_id, destination)
        refused = await board.take_slot(session.tenant_id, agent.endpoint.number, session.limits)
        if refused is not None:
            logger.warning("call %s: click-to-call cannot dial %s: %s", session.uuid, destination, refused)
            await session.end("failed")
            return
        fields = records.record_options(options)
        fields["meta"] = {**fields["meta"], "click_to_call": str(session.uuid)}
        try:
            call = await CallSession.open(board, route, agent.endpoint, session.limits, **fields)
        except BaseException:
            board.give_slot(session.tenant_id, agent.endpoint.number)
            raise
        call.take_caller(agent)
        session.bridge.disconnect(agent.media)
        # who the agent talks to now, and the record its leg is in (docs/DESIGN.md §4 `call.party`)
        await agent.send("call.party", uuid=str(call.uuid), number=destination, name=route.name or session.route.name)
        if options.get("recording"):
            record_when_answered(call)
        await session.end("transferred", transferred_to=destination)
    logger.info("call %s: click-to-call %s -> %s", call.uuid, agent.endpoint.number, destination)
    board.spawn(call.start())
