"""The originator of scenario routes (`RouteKind.SCENARIO`, wired by settings `CALL_ORIGINATORS`).

A number that is a `Route` of the tenant makes its call's callee side a scenario: the originator
(run by `CallSession.start` under the call's lock) resolves the scenario and its params, admits the
scenario's leg as the ringing callee (`admit_callee`), wraps the caller as the scenario's incoming
`Call` and starts the scenario as the run's first task, which returns at once. A route whose
scenario cannot be found or whose params it refuses ends the call `failed` (logged, with the
route); a scenario that returns leaving its call neither answered nor ringing ends it `failed` too
(the caller would wait for nothing).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async

from zorio_widget.calls.legs import new_call_id
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.session import CallSession
from zorio_widget.scenarios.call import PROGRESSING, Call
from zorio_widget.scenarios.callargs import MAX_CUSTOM_DATA_BYTES
from zorio_widget.scenarios.leg import ScenarioMedia
from zorio_widget.scenarios.registry import ScenarioConfigError, ScenarioFunction, resolve
from zorio_widget.scenarios.runner import ScenarioRun
from zorio_widget.scenarios.services import get_services

logger = logging.getLogger(__name__)


@database_sync_to_async
def custom_data_of(session: CallSession) -> str:
    """The SDK call's `meta` (its `custom_data` key if a string, else the whole object as JSON, when it
    fits in 200 bytes), or its `callerName`."""
    record = CallRecord.objects.filter(uuid=session.uuid).only("meta", "caller_name").first()
    meta, caller_name = (record.meta or {}, record.caller_name) if record is not None else ({}, "")
    if isinstance(meta, dict) and isinstance(meta.get("custom_data"), str):
        text = meta["custom_data"]
    elif meta:
        text = json.dumps(meta, separators=(",", ":"), ensure_ascii=False)
    else:
        text = caller_name
    if len(text.encode("utf-8")) > MAX_CUSTOM_DATA_BYTES:
        logger.warning("call %s: custom data longer than %d bytes left out", session.uuid, MAX_CUSTOM_DATA_BYTES)
        return ""
    return str(text)


async def originate(session: CallSession) -> None:
    """Starts the route's scenario on `session` (the caller's leg exists; the lock is held)."""
    route = session.route
    try:
        function, params = await resolve(route.scenario, route.params)
    except ScenarioConfigError as exc:
        logger.error("call %s: route %s cannot run scenario %r: %s", session.uuid, route.number, route.scenario, exc)
        await session.end("failed")
        return
    run = ScenarioRun(session.board, route, session.tenant_id, session.limits, get_services())
    own = session.admit_callee(run.endpoint, ScenarioMedia(new_call_id()))
    call = Call(run, session, own, "incoming", custom_data=await custom_data_of(session))
    run.add_call(call)
    logger.info("call %s: scenario %s answers %s", session.uuid, route.scenario, route.number)
    run.spawn(_main(run, call, function, params), "run")


async def _main(run: ScenarioRun, call: Call, function: ScenarioFunction, params: dict[str, Any]) -> None:
    await function(call, params)
    if call.state() == PROGRESSING and not call.terminated:
        logger.warning("call %s: scenario %s returned without answering or ringing", call.id(), run.name)
        await call.end_now("failed")
