"""Webphone tokens: signed, expiring, bound to one tenant and one extension.

Modelled on Django's PasswordResetTokenGenerator: `django.core.signing` does the signing, and a
`_now()` seam lets tests move time. Verification re-reads the extension, so disabling a tenant or
an extension takes effect on the next request even for tokens already handed out.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing

from zorio_widget.tenants.models import Extension

SALT = "zorio_widget.tenants.tokens"


class TokenError(Exception):
    """A token that cannot be used; `code` is the public error code (docs/DESIGN.md §3)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: int
    extension_id: int
    expires_at: int  # unix seconds

    @property
    def expires_at_iso(self) -> str:
        return datetime.fromtimestamp(self.expires_at, UTC).isoformat().replace("+00:00", "Z")


class WebphoneTokenGenerator:
    def _now(self) -> float:
        return time.time()

    def make_token(self, extension: Extension, ttl_s: int | None = None) -> tuple[str, TokenClaims]:
        ttl = settings.TOKEN_DEFAULT_TTL_S if ttl_s is None else ttl_s
        if not 1 <= ttl <= settings.TOKEN_MAX_TTL_S:
            raise ValueError(f"ttl must be between 1 and {settings.TOKEN_MAX_TTL_S} seconds")
        claims = TokenClaims(extension.tenant_id, extension.pk, int(self._now()) + ttl)
        payload = {"t": claims.tenant_id, "e": claims.extension_id, "x": claims.expires_at}
        return signing.dumps(payload, salt=SALT, compress=False), claims

    def check_token(self, token: str) -> TokenClaims:
        """Returns the claims of a valid, unexpired token or raises TokenError."""
        try:
            payload = signing.loads(token, salt=SALT)
            claims = TokenClaims(int(payload["t"]), int(payload["e"]), int(payload["x"]))
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise TokenError("unauthorized", "Invalid token.") from exc
        if self._now() >= claims.expires_at:
            raise TokenError("token_expired", "The token has expired; mint a new one.")
        return claims

    def resolve(self, token: str) -> tuple[Extension, TokenClaims]:
        """The extension a token is bound to; raises TokenError when it may not be used."""
        claims = self.check_token(token)
        extension = (
            Extension.objects.select_related("tenant", "user")
            .filter(pk=claims.extension_id, tenant_id=claims.tenant_id)
            .first()
        )
        if extension is None:
            raise TokenError("unauthorized", "The token's extension no longer exists.")
        if not extension.tenant.enabled or not extension.enabled:
            raise TokenError("webphone_disabled", "The webphone is disabled for this extension.")
        return extension, claims


token_generator = WebphoneTokenGenerator()
