"""`/softphone/`: the page inside the iframe of `ZorioSoftphone` (docs/DESIGN.md §5b).

Framing is allowed only to the tenant's allowed origins: the view is exempt from Django's
`X-Frame-Options: DENY` and sends `Content-Security-Policy: frame-ancestors <origins>` instead.
The tenant is the one of `?token=` (when valid) or `?tenant=` (slug or id); a page loaded with
neither may be framed by any enabled tenant's origins. The same origin patterns are handed to the
page's postMessage bridge, which checks every message's origin against them.
"""

import re

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from zorio_widget.tenants.models import Tenant
from zorio_widget.tenants.tokens import TokenError, token_generator

#: Patterns CSP can express: scheme://host[:port] with `*.` only as the first host label, `*` as port.
_CSP_SOURCE = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:([0-9]{1,5}|\*))?")


def tenants_for(request: HttpRequest) -> list[Tenant]:
    """The tenant(s) whose origins may frame this page load."""
    token = request.GET.get("token", "")
    if token:
        try:
            extension, _claims = token_generator.resolve(token)
        except TokenError:
            pass
        else:
            return [extension.tenant] if extension.tenant.enabled else []
    wanted = request.GET.get("tenant", "")
    enabled = Tenant.objects.filter(enabled=True)
    if wanted:
        match = Q(slug=wanted) | Q(pk=int(wanted)) if wanted.isascii() and wanted.isdigit() else Q(slug=wanted)
        return list(enabled.filter(match)[:1])
    return list(enabled.order_by("pk"))


def origin_patterns(tenants: list[Tenant]) -> list[str]:
    patterns: list[str] = []
    for tenant in tenants:
        for pattern in tenant.origin_patterns:
            pattern = pattern.rstrip("/")
            if pattern not in patterns:
                patterns.append(pattern)
    return patterns


def frame_ancestors(patterns: list[str]) -> str:
    sources = [p for p in patterns if _CSP_SOURCE.fullmatch(p)]
    return "frame-ancestors " + (" ".join(sources) if sources else "'none'")


def page_policy(request: HttpRequest, patterns: list[str]) -> str:
    """The page's whole CSP: its scripts and styles are its own files (styles are adopted
    stylesheets, so no 'unsafe-inline'); it talks to this server only (REST, and the WebSocket,
    which may be on another host: PUBLIC_WS_URL); images and ringtones may come from the admin's
    or the partner's https URLs (theme logo, customizeAppearance assets); its one worker is
    `/softphone/sw.js`."""
    if settings.PUBLIC_WS_URL:
        ws_origin = "/".join(settings.PUBLIC_WS_URL.split("/", 3)[:3])
    else:
        ws_origin = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
    return "; ".join([
        "default-src 'none'", "script-src 'self'", "worker-src 'self'", "style-src 'self'", "img-src 'self' https: data:",
        "media-src 'self' https: blob:", f"connect-src 'self' {ws_origin}", "base-uri 'none'",
        "form-action 'none'", frame_ancestors(patterns),
    ])


@xframe_options_exempt
@require_GET
def softphone(request: HttpRequest) -> HttpResponse:
    tenants = tenants_for(request)
    patterns = origin_patterns(tenants)
    context = {
        "config": {
            "origins": patterns,
            "tenant": tenants[0].slug if len(tenants) == 1 else "",
            "token": request.GET.get("token", ""),
            "language": request.GET.get("language", ""),
            "debug": request.GET.get("debug", "") in ("1", "true"),
            "autoLogin": request.GET.get("autologin", "1") not in ("0", "false"),
            "wrapUpDuration": _seconds(request.GET.get("wrapup", "")),
            "defaultLocale": settings.DEFAULT_LOCALE,
        },
    }
    response = render(request, "softphone/index.html", context)
    response["Content-Security-Policy"] = page_policy(request, patterns)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _seconds(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= 86400 else None


#: The built service worker (frontend/src/softphone/worker.ts), found like any static file.
WORKER_FILE = "zorio/softphone-sw.js"


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """`/softphone/sw.js`: the softphone's service worker (notifications with Answer and Decline).
    Served here and not from /static/, because a worker controls only the pages under its own
    URL's folder: this one's scope is `/softphone/`. It loads and fetches nothing (`default-src
    'none'`); browsers check it for updates on each registration (no-cache)."""
    path = finders.find(WORKER_FILE)
    if not path:
        raise Http404("The softphone's service worker is not built (make bundle).")
    with open(path, "rb") as worker:
        response = HttpResponse(worker.read(), content_type="text/javascript; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response
