"""`GET /api/webphone/directory?q=&limit=` (Bearer): the token's tenant's extensions matching `q`
(number or name), each with its presence, for the transfer directory and the contact search of the
widget and the softphone.

Presence is what the call layer knows (zorio_widget/calls/switchboard.py, read only): `offline`
without a registered device, `busy` with a live call, else `available`; in a cluster the switchboard
asks the other processes too. The view is async so that it asks the switchboard on the event loop
that owns it.
"""

from asgiref.sync import sync_to_async
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from zorio_widget.api.auth import extension_from_bearer
from zorio_widget.api.errors import ApiError
from zorio_widget.calls.switchboard import get_switchboard
from zorio_widget.tenants.models import Extension

MAX_QUERY_CHARS = 64
DEFAULT_LIMIT = 20
MAX_LIMIT = 50


def _matching(tenant_id: int, query: str, limit: int) -> list[tuple[str, str]]:
    """(number, name) of the tenant's enabled, numbered extensions matching `query`, by number."""
    rows = Extension.objects.filter(tenant_id=tenant_id, enabled=True).exclude(number="").select_related("user")
    if query:
        rows = rows.filter(Q(number__contains=query) | Q(display_name__icontains=query)
                           | Q(user__first_name__icontains=query) | Q(user__last_name__icontains=query))
    return [(e.number, e.name) for e in rows.order_by("number")[:limit]]


def _limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError("bad_request", f"'limit' must be an integer from 1 to {MAX_LIMIT}.")
    return int(raw)


@require_GET
async def directory(request: HttpRequest) -> JsonResponse:
    extension, _claims = await sync_to_async(extension_from_bearer)(request)
    query = request.GET.get("q", "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise ApiError("bad_request", f"'q' is longer than {MAX_QUERY_CHARS} characters.")
    entries = await sync_to_async(_matching)(extension.tenant_id, query, _limit(request))
    board = get_switchboard()
    results = []
    for number, name in entries:
        online = bool(await board.devices_of(extension.tenant_id, number))
        busy = online and await board.is_busy(extension.tenant_id, number)
        results.append({"number": number, "name": name, "self": number == extension.number,
                        "presence": "busy" if busy else "available" if online else "offline"})
    return JsonResponse({"results": results})
