"""Authentication of REST calls: `Api-Key` for partner back-ends, `Bearer` tokens for widgets."""

from django.http import HttpRequest
from django.utils import timezone

from zorio_widget.api.errors import ApiError
from zorio_widget.api.throttle import api_key_throttle
from zorio_widget.tenants.models import API_KEY_PREFIX_LEN, ApiKey, Extension
from zorio_widget.tenants.tokens import TokenClaims, TokenError, token_generator


def _credential(request: HttpRequest, scheme: str) -> str:
    header = request.headers.get("Authorization", "")
    prefix = f"{scheme} "
    if not header.startswith(prefix) or not header[len(prefix):].strip():
        raise ApiError("unauthorized", f"Send the header 'Authorization: {scheme} …'.")
    return header[len(prefix):].strip()


def api_key_from(request: HttpRequest) -> ApiKey:
    """The key of `Authorization: Api-Key …`; failed attempts are throttled (zorio_widget/api/throttle.py)."""
    raw = _credential(request, "Api-Key")
    prefix, address = raw[:API_KEY_PREFIX_LEN], request.META.get("REMOTE_ADDR") or "-"
    retry_after_s = api_key_throttle.retry_after_s(prefix, address)
    if retry_after_s is not None:
        raise ApiError("rate_limited", f"Too many failed API key attempts; retry in {retry_after_s} s.",
                       headers={"Retry-After": str(retry_after_s)})
    key = ApiKey.objects.verify(raw)
    if key is None:
        api_key_throttle.record_failure(prefix, address)
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
