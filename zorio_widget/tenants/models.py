"""Tenants (partners), their extensions, API keys and admin-configured themes."""

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.db import models
from django.db.models import BaseConstraint, Q

from zorio_widget.tenants.origins import origin_matches

API_KEY_PREFIX_LEN = 8


class Tenant(models.Model):
    """A partner organisation: its web app origins may embed the phone."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    allowed_origins = models.TextField(
        blank=True,
        help_text="One origin per line; `*` matches any port or host label, e.g. http://127.0.0.1:*",
    )
    enabled = models.BooleanField(default=True)
    max_live_calls = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Live calls this tenant may have at once; empty: the MAX_CALLS_PER_TENANT setting.",
    )
    max_calls_per_extension = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Live calls one extension may have at once; empty: the MAX_CALLS_PER_EXTENSION setting.",
    )
    card_schema = models.JSONField(
        null=True, blank=True,
        help_text="JSON Schema of the after-call card. When set it is authoritative: saved cards are "
                  "validated against it, and a schema sent by the client only drives rendering.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def origin_patterns(self) -> list[str]:
        return [line.strip() for line in self.allowed_origins.splitlines() if line.strip()]

    def allows_origin(self, origin: str) -> bool:
        return origin_matches(origin, self.origin_patterns)

    @property
    def live_call_limit(self) -> int:
        return settings.MAX_CALLS_PER_TENANT if self.max_live_calls is None else self.max_live_calls

    @property
    def extension_call_limit(self) -> int:
        if self.max_calls_per_extension is None:
            return int(settings.MAX_CALLS_PER_EXTENSION)
        return self.max_calls_per_extension


class Extension(models.Model):
    """A phone line of one agent. Tokens are bound to it (tenant + extension)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="extensions")
    number = models.CharField(max_length=32, blank=True, help_text="Empty means not yet provisioned.")
    display_name = models.CharField(max_length=120, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="extensions"
    )
    enabled = models.BooleanField(default=True)
    call_waiting = models.BooleanField(default=True)
    recording_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], condition=~Q(number=""), name="unique_extension_number_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number or '(no number)'} {self.display_name}".strip()

    @property
    def name(self) -> str:
        if self.display_name:
            return self.display_name
        if self.user_id and self.user is not None:
            return self.user.get_full_name() or self.user.get_username()
        return self.number


def _hash_key(raw_key: str) -> str:
    # Keys are 256-bit random strings, so a keyed fast hash is enough (no password stretching).
    return hmac.new(settings.SECRET_KEY.encode(), raw_key.encode(), hashlib.sha256).hexdigest()


class ApiKeyManager(models.Manager["ApiKey"]):
    def create_key(self, tenant: Tenant, name: str = "") -> tuple["ApiKey", str]:
        """Creates a key and returns it with the raw secret, which is never stored or shown again."""
        raw = secrets.token_urlsafe(32)
        key = self.create(tenant=tenant, name=name, prefix=raw[:API_KEY_PREFIX_LEN], hashed_key=_hash_key(raw))
        return key, raw

    def verify(self, raw_key: str) -> "ApiKey | None":
        if len(raw_key) < API_KEY_PREFIX_LEN:
            return None
        digest = _hash_key(raw_key)
        for candidate in self.filter(prefix=raw_key[:API_KEY_PREFIX_LEN], revoked=False).select_related("tenant"):
            if hmac.compare_digest(candidate.hashed_key, digest):
                return candidate
        return None


class ApiKey(models.Model):
    """A partner back-end's key for minting tokens; only its hash is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=API_KEY_PREFIX_LEN, db_index=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyManager()

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.tenant})"


class Layout(models.TextChoices):
    DOCKED = "docked"
    OVERLAY = "overlay"
    FULLSCREEN = "fullscreen"


class Locale(models.TextChoices):
    EN = "en", "English"
    VI = "vi", "Tiếng Việt"


class ThemeMode(models.TextChoices):
    LIGHT = "light"
    DARK = "dark"
    AUTO = "auto"


class Theme(models.Model):
    """Admin-configured look of the widget; the tenant's default one is sent in sip-config."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="themes")
    name = models.CharField(max_length=120)
    is_default = models.BooleanField(default=False)
    mode = models.CharField(max_length=8, choices=ThemeMode.choices, default=ThemeMode.AUTO)
    primary_color = models.CharField(max_length=32, default="#2563eb")
    background_color = models.CharField(max_length=32, blank=True)
    text_color = models.CharField(max_length=32, blank=True)
    accent_color = models.CharField(max_length=32, default="#16a34a")
    danger_color = models.CharField(max_length=32, default="#dc2626")
    logo_url = models.URLField(blank=True)
    default_layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.DOCKED)
    default_locale = models.CharField(max_length=8, choices=Locale.choices, default=Locale.EN)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=Q(is_default=True), name="one_default_theme_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.name}{' (default)' if self.is_default else ''}"

    def get_constraints(self) -> list[tuple[type[models.Model], Sequence[BaseConstraint]]]:
        # save() demotes the previous default, so a second default is not a validation error in
        # forms (the admin); the database constraint still guards every other write.
        return [
            (model, [c for c in constraints if c.name != "one_default_theme_per_tenant"])
            for model, constraints in super().get_constraints()
        ]

    def save(self, *args: object, **kwargs: object) -> None:
        # Marking a theme default demotes the tenant's previous default instead of failing.
        if self.is_default:
            Theme.objects.filter(tenant_id=self.tenant_id, is_default=True).exclude(pk=self.pk).update(is_default=False)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def as_config(self) -> dict[str, str]:
        """The theme as sent to the widget (sip-config `theme`)."""
        colors = {
            "primary": self.primary_color,
            "background": self.background_color,
            "text": self.text_color,
            "accent": self.accent_color,
            "danger": self.danger_color,
        }
        return {
            "name": self.name,
            "mode": self.mode,
            "layout": self.default_layout,
            "locale": self.default_locale,
            "logo_url": self.logo_url,
            **{f"{k}_color": v for k, v in colors.items() if v},
        }


class RefreshToken(models.Model):
    """One link of a refresh-token chain (zorio_widget/tenants/refresh.py): it works once, and the
    token that replaces it joins the same `family`. Presenting a used one revokes the family: a
    stolen refresh token is then worthless to both the thief and the victim, who signs in again.
    Only a keyed hash of the token is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="refresh_tokens")
    extension = models.ForeignKey(Extension, on_delete=models.CASCADE, related_name="refresh_tokens")
    family = models.UUIDField(db_index=True, editable=False)
    hashed_token = models.CharField(max_length=64, unique=True, editable=False)
    #: The lifetime of each webphone token minted with this chain (the first one's `ttl`).
    token_ttl_s = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked else "used" if self.used_at else "live"
        return f"{self.extension} {str(self.family)[:8]} ({state})"
