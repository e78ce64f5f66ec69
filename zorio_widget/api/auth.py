"""Authentication of REST calls: `Api-Key` for partner back-ends, `Bearer` tokens for widgets."""

from django.http import HttpRequest
from django.utils import timezone

from zorio_widget.api.errors import ApiError
from zorio_widget.tenants.models import ApiKey, Extension
from zorio_widget.tenants.tokens import TokenClaims, TokenError, token_generator


def _credential(request: HttpRequest, scheme: str) -> str:
    header = request.headers.get("Authorization", "")
    prefix = f"{scheme} "
    if not header.startswith(prefix) or not header[len(prefix):].strip():
        raise ApiError("unauthorized", f"Send the header 'Authorization: {scheme} …'.")
    return header[len(prefix):].strip()


def api_key_from(request: HttpRequest) -> ApiKey:
    key = ApiKey.objects.verify(_credential(request, "Api-Key"))
    if key is None:
        raise ApiError("unauthorized", "Unknown or revoked API key.")
    if not key.tenant.enabled:
        raise ApiError("webphone_disabled", "The webphone is disabled for this tenant.")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


def extension_from_bearer(request: HttpRequest) -> tuple[Extension, TokenClaims]:
    try:
        extension, claims = token_generator.resolve(_credential(request, "Bearer"))
    except TokenError as exc:
        raise ApiError(exc.code, exc.message) from exc
    origin = request.headers.get("Origin")
    if origin and not extension.tenant.allows_origin(origin):
        raise ApiError("forbidden", "This origin is not allowed for the token's tenant.")
    return extension, claims
