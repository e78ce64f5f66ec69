"""REST endpoints of docs/DESIGN.md §3: tokens and their refresh, sip-config, call history."""

import json
from typing import Any

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from zorio_widget.api.auth import api_key_from, extension_from_bearer
from zorio_widget.api.errors import ApiError
from zorio_widget.calls.models import CallRecord
from zorio_widget.tenants.ice import ice_servers_for
from zorio_widget.tenants.models import Extension, Theme
from zorio_widget.tenants.refresh import refresh_tokens
from zorio_widget.tenants.tokens import TokenError

MAX_PAGE_SIZE = 100
MAX_REFRESH_TOKEN_CHARS = 200
#: No REST body nests deeper; the deepest legitimate one, an after-call card with its schema, stays
#: well under it (zorio_widget/api/card_schema.py).
MAX_JSON_DEPTH = 64


def nesting_depth(value: object) -> int:
    """How deeply `value` nests objects and arrays (a scalar: 0, `{}`: 1); iterative, so any depth is safe."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _storable_text(value: object) -> bool:
    """False when a string (key or value) holds NUL or a lone surrogate, which databases refuse."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            if "\x00" in node:
                return False
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    return False
    return True


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; any other body, of any size or depth, is a `bad_request`."""
    try:
        body = json.loads(request.body or b"{}")
    except RecursionError as exc:  # the C decoder's own guard, far past MAX_JSON_DEPTH
        raise ApiError("bad_request", f"The body nests deeper than {MAX_JSON_DEPTH} levels.") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of over 4300 digits
        raise ApiError("bad_request", "The body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise ApiError("bad_request", "The body must be a JSON object.")
    if nesting_depth(body) > MAX_JSON_DEPTH:
        raise ApiError("bad_request", f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
    if not _storable_text(body):
        raise ApiError("bad_request", "The body's strings may not contain NUL characters or unpaired surrogates.")
    return body


@csrf_exempt
@require_POST
def create_token(request: HttpRequest) -> JsonResponse:
    api_key = api_key_from(request)
    body = json_body(request)
    number, ttl = body.get("extension"), body.get("ttl", settings.TOKEN_DEFAULT_TTL_S)
    if not isinstance(number, str) or not number:
        raise ApiError("bad_request", "'extension' must be a non-empty string.")
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= settings.TOKEN_MAX_TTL_S:
        raise ApiError("bad_request", f"'ttl' must be an integer from 1 to {settings.TOKEN_MAX_TTL_S}.")
    extension = Extension.objects.filter(tenant=api_key.tenant, number=number).first()
    if extension is None:
        raise ApiError("bad_request", f"No extension {number!r} in this tenant.")
    return JsonResponse(refresh_tokens.issue(extension, ttl).as_json(), status=201)


@csrf_exempt
@require_POST
def refresh_token(request: HttpRequest) -> JsonResponse:
    """A new token for a refresh token, which is used up (no other credential: the refresh token is one)."""
    raw = json_body(request).get("refresh_token")
    if not isinstance(raw, str) or not raw or len(raw) > MAX_REFRESH_TOKEN_CHARS:
        raise ApiError("bad_request", "'refresh_token' must be the refresh token a token request returned.")
    try:
        issued = refresh_tokens.rotate(raw, origin=request.headers.get("Origin"))
    except TokenError as exc:
        raise ApiError(exc.code, exc.message) from exc
    return JsonResponse(issued.as_json())


def ws_url_for(request: HttpRequest) -> str:
    if settings.PUBLIC_WS_URL:
        return settings.PUBLIC_WS_URL
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{request.get_host()}/ws/webphone/"


@require_GET
def sip_config(request: HttpRequest) -> JsonResponse:
    extension, claims = extension_from_bearer(request)
    if not extension.number:
        raise ApiError("incomplete_sip_config", "The extension has no number yet; ask your administrator.")
    theme = Theme.objects.filter(tenant=extension.tenant, is_default=True).first()
    user = extension.user
    return JsonResponse(
        {
            "extension": extension.number,
            "display_name": extension.name,
            "user": {
                "username": user.get_username() if user else extension.number,
                "display_name": extension.name,
                "email": user.email if user else "",
            },
            "tenant": {"slug": extension.tenant.slug, "name": extension.tenant.name},
            "ws_url": ws_url_for(request),
            "ice_servers": ice_servers_for(extension.number),
            "profile": {
                "enabled": extension.enabled,
                "recording": extension.recording_default,
                "call_waiting": extension.call_waiting,
            },
            "theme": theme.as_config() if theme else None,
            "locale": theme.default_locale if theme else settings.DEFAULT_LOCALE,
            "token_expires_at": claims.expires_at_iso,
        }
    )


def _positive_int(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name, str(default))
    # ASCII only: str.isdigit() also accepts "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ApiError("bad_request", f"'{name}' must be a positive integer.")
    return int(raw)


@require_GET
def call_history(request: HttpRequest) -> JsonResponse:
    extension, _claims = extension_from_bearer(request)
    page_number = _positive_int(request, "page", 1)
    page_size = min(_positive_int(request, "page_size", 20), MAX_PAGE_SIZE)
    records = CallRecord.objects.filter(
        Q(from_extension=extension) | Q(to_extension=extension), tenant=extension.tenant
    ).order_by("-started_at", "-pk")
    paginator = Paginator(records, page_size)
    try:
        page = paginator.page(page_number)
    except EmptyPage:
        items: list[dict[str, object]] = []
    else:
        items = [record.as_api(viewer=extension) for record in page.object_list]
    return JsonResponse(
        {"count": paginator.count, "page": page_number, "page_size": page_size, "results": items}
    )
