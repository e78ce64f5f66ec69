"""`/api/webphone/calls`: call records (GET: the extension's with a Bearer token, the tenant's with
its Api-Key), click-to-call (POST, Api-Key), and each call's recording (GET, range requests).

Recordings are served to a party of the call (Bearer of its caller's or called extension, which
for a voicemail is the mailbox's) and to the tenant's API key, nobody else: the file is read from
`RECORDINGS_ROOT` through the record's stored name (checked to stay inside it), never from a path
in the request.
"""

from __future__ import annotations

from uuid import UUID

from asgiref.sync import sync_to_async
from django.core.paginator import EmptyPage, Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from zorio_widget.api import views
from zorio_widget.api.auth import api_key_from, extension_from_bearer
from zorio_widget.api.errors import ApiError
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.recording import RangeNotSatisfiable, RecordingUnavailable, recording_response
from zorio_widget.calls.switchboard import get_switchboard
from zorio_widget.scenarios.clicktocall import click_to_call
from zorio_widget.scenarios.runner import ScenarioError

_CLICK_TO_CALL_ERRORS = {"bad_value": "bad_request", "not_found": "bad_request", "unavailable": "invalid_state",
                         "capacity": "capacity"}


def _uses_api_key(request: HttpRequest) -> bool:
    return request.headers.get("Authorization", "").startswith("Api-Key ")


@csrf_exempt
async def calls(request: HttpRequest) -> HttpResponse:
    """GET: call records, newest first; POST: click-to-call."""
    if request.method == "POST":
        return await _click_to_call(request)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    if _uses_api_key(request):
        return await sync_to_async(tenant_history)(request)
    return await sync_to_async(views.call_history)(request)


def tenant_history(request: HttpRequest) -> JsonResponse:
    """Every call record of the API key's tenant (`?kind=voicemail` for the voicemails only)."""
    tenant = api_key_from(request).tenant
    page_number = views._positive_int(request, "page", 1)
    page_size = min(views._positive_int(request, "page_size", 20), views.MAX_PAGE_SIZE)
    records = CallRecord.objects.filter(tenant=tenant).order_by("-started_at", "-pk")
    kind = request.GET.get("kind")
    if kind is not None:
        if kind not in CallRecord.Kind.values:
            raise ApiError("bad_request", f"'kind' must be one of {', '.join(CallRecord.Kind.values)}.")
        records = records.filter(kind=kind)
    paginator = Paginator(records, page_size)
    try:
        items = [record.as_api() for record in paginator.page(page_number).object_list]
    except EmptyPage:
        items = []
    return JsonResponse({"count": paginator.count, "page": page_number, "page_size": page_size, "results": items})


async def _click_to_call(request: HttpRequest) -> JsonResponse:
    api_key = await sync_to_async(api_key_from)(request)
    body = views.json_body(request)
    agent, to, options = body.get("from"), body.get("to"), body.get("options", {})
    if not isinstance(agent, str) or not agent or not isinstance(to, str) or not to:
        raise ApiError("bad_request", "'from' (the agent's extension) and 'to' (the number to dial) are needed.")
    if not isinstance(options, dict):
        raise ApiError("bad_request", "'options' must be an object.")
    try:
        call = await click_to_call(get_switchboard(), api_key.tenant_id, agent, to, options)
    except ScenarioError as exc:
        raise ApiError(_CLICK_TO_CALL_ERRORS.get(exc.code, "bad_request"), str(exc).split(": ", 1)[-1]) from exc
    return JsonResponse({"uuid": call.id(), "from": agent, "to": to, "state": "ringing"}, status=201)


@require_GET
def recording(request: HttpRequest, call_uuid: UUID) -> StreamingHttpResponse:
    """The call's stereo recording (`audio/ogg`), whole or one byte range (`Range: bytes=a-b`)."""
    record = _readable_record(request, call_uuid)
    try:
        return recording_response(record, request.headers.get("Range"))
    except RecordingUnavailable as exc:
        raise ApiError("not_found", str(exc)) from exc
    except RangeNotSatisfiable as exc:
        raise ApiError("range_not_satisfiable", headers={"Content-Range": f"bytes */{exc.size}"}) from exc


def _readable_record(request: HttpRequest, call_uuid: UUID) -> CallRecord:
    if _uses_api_key(request):
        tenant = api_key_from(request).tenant
        found = CallRecord.objects.filter(uuid=call_uuid, tenant=tenant).first()
    else:
        extension, _claims = extension_from_bearer(request)
        found = CallRecord.objects.filter(Q(from_extension=extension) | Q(to_extension=extension), uuid=call_uuid,
                                          tenant=extension.tenant).first()
    if found is None:  # another tenant's call, or not a party of it: the same answer as no call
        raise ApiError("not_found", "No such call for these credentials.")
    return found


