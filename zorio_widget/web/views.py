"""Pages served to browsers: the partner-style demo and the softphone iframe page."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from zorio_widget.tenants.models import Extension
from zorio_widget.tenants.refresh import refresh_tokens

DEMO_TENANT = "demo"
DEMO_TOKEN_TTL_S = 3600


def home(request: HttpRequest) -> HttpResponse:
    return redirect("demo")


def demo(request: HttpRequest) -> HttpResponse:
    if not settings.DEMO_PAGES:
        raise Http404
    return render(request, "demo/index.html")


def demo_token(request: HttpRequest) -> JsonResponse:
    """Mints a token for a demo-tenant extension, standing in for a partner's back-end.

    A real partner calls `POST /api/webphone/tokens` with its API key from its own server; the demo
    page has no back-end of its own. Off when `DEMO_PAGES` is false (production).
    """
    if not settings.DEMO_PAGES:
        raise Http404
    number = request.GET.get("extension", "1001")
    extension = Extension.objects.filter(tenant__slug=DEMO_TENANT, number=number).first()
    if extension is None:
        return JsonResponse({"code": "bad_request", "message": f"No demo extension {number!r}."}, status=400)
    raw_ttl = request.GET.get("ttl", str(DEMO_TOKEN_TTL_S))
    if not (raw_ttl.isascii() and raw_ttl.isdigit()) or not 10 <= int(raw_ttl) <= DEMO_TOKEN_TTL_S:
        return JsonResponse({"code": "bad_request", "message": f"'ttl' must be 10 to {DEMO_TOKEN_TTL_S} seconds."},
                            status=400)
    # Like POST /api/webphone/tokens: a token and the refresh token that renews it.
    return JsonResponse(refresh_tokens.issue(extension, int(raw_ttl)).as_json())


def demo_iframe(request: HttpRequest) -> HttpResponse:
    """The partner-CRM demo of the iframe softphone (`ZorioSoftphone`, tel: and callto: links)."""
    if not settings.DEMO_PAGES:
        raise Http404
    return render(request, "demo/iframe.html")
