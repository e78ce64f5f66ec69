"""`GET /healthz`, `GET /readyz`, `GET /metrics` (README "Production").

- `/healthz`: the process is alive and its event loop answers: 200 `{"status": "ok"}`, nothing else
  is touched, so an orchestrator restarts only a process that is really stuck.
- `/readyz`: the process should get traffic: 200 when the database and the channel layer answer
  (`readiness`), 503 naming the failed check, and 503 `draining` once `lifecycle.set_draining()`.
- `/metrics`: Prometheus text. With `METRICS_TOKEN` set it needs `Authorization: Bearer <token>`
  (401 otherwise, compared in constant time).

All three are async views: they run on the event loop next to the calls they describe.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from zorio_widget.api.errors import error_response
from zorio_widget.ops import lifecycle, readiness
from zorio_widget.ops.collector import COLLECTOR
from zorio_widget.ops.metrics import REGISTRY


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    checks = await readiness.run_checks()
    if lifecycle.is_draining():
        status = "draining"
    else:
        status = "ok" if all(result == "ok" for result in checks.values()) else "unavailable"
    return JsonResponse({"status": status, "checks": checks}, status=200 if status == "ok" else 503)


def metrics_authorized(request: HttpRequest) -> bool:
    """Whether the request carries `Bearer METRICS_TOKEN` (always, when no token is set)."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@never_cache
@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_authorized(request):
        return error_response("unauthorized", "A valid metrics token is needed (METRICS_TOKEN).",
                              headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    await COLLECTOR.refresh()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
