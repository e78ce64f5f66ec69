"""Queue agents' state over REST: `GET/POST /api/webphone/agent/state` with the agent's Bearer
token, `GET/POST /api/webphone/agents/<extension>/state` with the tenant's Api-Key.

The same change as the `agent.state` WebSocket message (the softphone's agent tab): POST
`{"state": "logged_in" | "logged_out" | "paused" | "ready", "queue"?: "8000"}` answers the agent's
resulting `{"state", "queues"}` (its connected devices, on any process of a cluster, get `agent.state` too).
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from zorio_widget.api.auth import api_key_from, extension_from_bearer
from zorio_widget.api.errors import ApiError
from zorio_widget.api.views import json_body
from zorio_widget.calls.switchboard import get_switchboard
from zorio_widget.scenarios.agents import AgentStateError, get_directory
from zorio_widget.tenants.models import Extension


@csrf_exempt
async def own_state(request: HttpRequest) -> HttpResponse:
    extension, _claims = await sync_to_async(extension_from_bearer)(request)
    return await _state(request, extension.tenant_id, extension.number)


@csrf_exempt
async def state_of(request: HttpRequest, number: str) -> HttpResponse:
    api_key = await sync_to_async(api_key_from)(request)
    exists = await Extension.objects.filter(tenant_id=api_key.tenant_id, number=number).aexists()
    if not exists:
        raise ApiError("not_found", f"No extension {number} in this tenant.")
    return await _state(request, api_key.tenant_id, number)


async def _state(request: HttpRequest, tenant_id: int, number: str) -> HttpResponse:
    directory = get_directory()
    if request.method == "GET":
        return JsonResponse((await directory.agent(tenant_id, number)).as_message())
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    body = json_body(request)
    state, queue = body.get("state"), body.get("queue")
    if not isinstance(state, str) or (queue is not None and not isinstance(queue, str)):
        raise ApiError("bad_request", "'state' must be a string, and 'queue' a queue's number when given.")
    try:
        agent = await directory.set_state(tenant_id, number, state, queue)
    except AgentStateError as exc:
        raise ApiError("invalid_state" if exc.code == "invalid_state" else "bad_request", exc.message) from exc
    for device in await get_switchboard().devices_of(tenant_id, number):
        await device.send_frame({"type": "agent.state", **agent.as_message()})
    return JsonResponse(agent.as_message())
