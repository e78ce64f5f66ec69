"""Refresh tokens (DESIGN §3 `POST /api/webphone/tokens/refresh`): each works once and is replaced
by the next one of its family; a token presented again revokes the whole family.

A refresh token is 256 random bits; only an HMAC of it with SECRET_KEY is stored (as for API keys,
a keyed fast hash suffices for random secrets). Rotation claims the presented row with a conditional
UPDATE, so of two requests racing with one token exactly one wins and the other counts as a reuse.
`RefreshTokens._now()` is the seam through which tests move time. A refresh token lives
`settings.REFRESH_TOKEN_TTL_S` (read at each issue, so a test's override applies at once).
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from zorio_widget.tenants.models import Extension, RefreshToken
from zorio_widget.tenants.tokens import TokenClaims, TokenError, token_generator

PREFIX = "zrt_"


def _digest(raw: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A webphone token with the refresh token that renews it."""

    token: str
    claims: TokenClaims
    refresh_token: str

    def as_json(self) -> dict[str, str]:
        return {"token": self.token, "expires_at": self.claims.expires_at_iso, "refresh_token": self.refresh_token}


class RefreshTokens:
    def _now(self) -> datetime:
        return timezone.now()

    def issue(self, extension: Extension, ttl_s: int | None = None) -> Issued:
        """A new session: a webphone token and the first refresh token of a new family."""
        ttl = settings.TOKEN_DEFAULT_TTL_S if ttl_s is None else ttl_s
        token, claims = token_generator.make_token(extension, ttl)
        return Issued(token, claims, self._link(extension, ttl, uuid.uuid4()))

    def _link(self, extension: Extension, ttl_s: int, family: uuid.UUID) -> str:
        raw = PREFIX + secrets.token_urlsafe(32)
        RefreshToken.objects.create(
            tenant_id=extension.tenant_id, extension=extension, family=family, hashed_token=_digest(raw),
            token_ttl_s=ttl_s, expires_at=self._now() + timedelta(seconds=settings.REFRESH_TOKEN_TTL_S),
        )
        return raw

    def rotate(self, raw: str, origin: str | None = None) -> Issued:
        """A new token and the next refresh token for `raw`, which is used up; raises TokenError.

        `origin`: the browser's Origin header, which must be one of the token's tenant's origins.
        Nothing changes for a refused request, except a reuse, which revokes the family.
        """
        row = (RefreshToken.objects.select_related("extension__tenant", "extension__user")
               .filter(hashed_token=_digest(raw)).first() if raw.startswith(PREFIX) else None)
        if row is None:
            raise TokenError("unauthorized", "Unknown refresh token.")
        extension = row.extension
        if origin and not extension.tenant.allows_origin(origin):
            raise TokenError("forbidden", "This origin is not allowed for the token's tenant.")
        if row.revoked:
            raise TokenError("unauthorized", "This refresh token was revoked; sign in again.")
        if row.used_at is not None:
            self.revoke_family(row.family)
            raise TokenError("unauthorized", "This refresh token was already used: its session is revoked; sign in again.")
        now = self._now()
        if row.expires_at <= now:
            raise TokenError("token_expired", "The refresh token has expired; sign in again.")
        if not extension.tenant.enabled or not extension.enabled:
            raise TokenError("webphone_disabled", "The webphone is disabled for this extension.")
        issued: Issued | None = None
        with transaction.atomic():
            if RefreshToken.objects.filter(pk=row.pk, used_at__isnull=True, revoked=False).update(used_at=now):
                token, claims = token_generator.make_token(extension, row.token_ttl_s)
                issued = Issued(token, claims, self._link(extension, row.token_ttl_s, row.family))
        if issued is None:  # another request used it first: a reuse
            self.revoke_family(row.family)
            raise TokenError("unauthorized", "This refresh token was already used: its session is revoked; sign in again.")
        return issued

    @staticmethod
    def revoke_family(family: uuid.UUID) -> int:
        return RefreshToken.objects.filter(family=family).update(revoked=True)


refresh_tokens = RefreshTokens()
