"""Calls a scenario places: `call_extension(number)` and `call_pstn(number, caller_id)`.

Each is a new call (`CallSession.open`: its own record and slot) whose caller is the scenario's
leg (`ScenarioMedia`, admitted as the caller) and whose callee side is originated like any other
call of that target kind: an extension's devices ring (`call.incoming`, with the scenario's `X-`
headers), a number goes to the trunk's originator of numbers nothing else answers. Without a SIP
trunk (none of the tenant's takes the number, or `SIP_BIND=off` and the originator is the call
layer's `fail_unknown`) the call ends `failed` at once and its `Failed` event says `error="no_trunk"`.
"""

from __future__ import annotations

import logging
from typing import Literal

from channels.db import database_sync_to_async

from zorio_widget.calls.legs import new_call_id
from zorio_widget.calls.limits import CallLimits
from zorio_widget.calls.routing import InvalidTarget, Route, RouteKind, clean_destination, resolve_route
from zorio_widget.calls.session import CallSession
from zorio_widget.calls.targets import fail_unknown
from zorio_widget.scenarios.call import Call
from zorio_widget.scenarios.callargs import checked_headers
from zorio_widget.scenarios.leg import ScenarioEndpoint, ScenarioMedia
from zorio_widget.scenarios.runner import ScenarioError, ScenarioRun, current_run
from zorio_widget.tenants.models import Tenant
from zorio_widget.trunks.models import trunk_for_destination

logger = logging.getLogger(__name__)


async def call_extension(number: str, *, caller_id: str | None = None, display_name: str | None = None,
                         extra_headers: dict[str, str] | None = None) -> Call:
    """Rings extension `number` of the scenario's tenant: `Ringing`, then `Connected` or `Failed`.
    The devices show `caller_id` and `display_name` (the route's number and name by default)."""
    run = current_run()
    destination = _destination(number)
    route = await resolve_route(run.tenant_id, destination)
    if route.kind != RouteKind.EXTENSION:
        raise ScenarioError("not_found", f"{destination} is not an extension of this tenant")
    return await place(run, route, caller_id, display_name, extra_headers)


async def call_pstn(number: str, caller_id: str, *, extra_headers: dict[str, str] | None = None) -> Call:
    """Calls a phone number through the tenant's SIP trunk, showing `caller_id`."""
    run = current_run()
    destination = _destination(number)
    if not isinstance(caller_id, str) or not caller_id:
        raise ScenarioError("bad_value", "call_pstn() needs the caller id to show")
    route = Route(RouteKind.UNKNOWN, destination)
    return await place(run, route, _destination(caller_id), None, extra_headers, {"caller_id": caller_id})


@database_sync_to_async
def _trunk_serves(tenant_id: int, number: str) -> bool:
    """Whether one of the tenant's trunks takes `number` (the trunk's originator dials it then)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    return tenant is not None and trunk_for_destination(tenant, number) is not None


def _destination(number: str) -> str:
    try:
        return clean_destination(number)
    except (InvalidTarget, AttributeError) as exc:
        raise ScenarioError("bad_value", f"{number!r} is not a dialable number") from exc


async def place(run: ScenarioRun, route: Route, caller_id: str | None, display_name: str | None,
                extra_headers: dict[str, str] | None, meta: dict[str, str] | None = None) -> Call:
    """A new call from the scenario to `route` (started before returning); `meta` joins the
    record's (`caller_id`: what a trunk presents when it allows it)."""
    headers = checked_headers(extra_headers)
    board = run.board
    endpoint = run.endpoint
    if caller_id and caller_id != endpoint.number:
        endpoint = ScenarioEndpoint(run.tenant_id, caller_id, display_name or endpoint.name, run)
    # A scenario's calls count against its tenant's limit; the per-extension one is for people.
    limits = CallLimits(run.limits.per_tenant, run.limits.per_tenant)
    refused = await board.take_slot(run.tenant_id, endpoint.number, limits)
    if refused is not None:
        raise ScenarioError("capacity", refused)
    try:
        session = await CallSession.open(board, route, endpoint, limits,
                                         meta={"scenario": run.name, "route": run.route.number, **(meta or {})})
    except BaseException:
        board.give_slot(run.tenant_id, endpoint.number)
        raise
    session.headers = headers
    own = session.admit_caller(endpoint, ScenarioMedia(new_call_id()), caller_name=display_name or "")
    direction: Literal["outgoing"] = "outgoing"
    call = Call(run, session, own, direction)
    run.add_call(call)
    if route.kind == RouteKind.UNKNOWN and (board.originator_for(RouteKind.UNKNOWN) is fail_unknown
                                            or not await _trunk_serves(run.tenant_id, route.number)):
        call.failure_detail = "no_trunk"
        logger.warning("scenario %s: no SIP trunk serves %s (none of the tenant's takes it, or SIP_BIND=off)",
                       run.name, route.number)
    logger.info("call %s: scenario %s calls %s (%s)", session.uuid, run.name, route.number, route.kind)
    await session.start()
    return call
