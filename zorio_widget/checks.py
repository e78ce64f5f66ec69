"""System checks with stable ids for dangerous production settings."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

#: A production SECRET_KEY is at least this long (Django's own check, security.W009, wants 50).
MIN_SECRET_KEY_LENGTH = 32
#: Pieces of the placeholders people copy without changing (.env.example's among them).
PLACEHOLDER_MARKERS = ("change-me", "changeme", "insecure", "secret-key", "your-secret")
SECRET_KEY_HINT = ("Set SECRET_KEY to a long random string, e.g. "
                   "python -c 'import secrets; print(secrets.token_urlsafe(50))'.")


def secret_key_weakness(key: str) -> str | None:
    """Why `key` must not sign production tokens, or None when it may."""
    if key == settings.INSECURE_DEFAULT_SECRET_KEY:
        return "is the embedded development key"
    if any(marker in key.lower() for marker in PLACEHOLDER_MARKERS):
        return "is a placeholder (as in .env.example)"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


@register(Tags.security, deploy=True)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    weakness = secret_key_weakness(settings.SECRET_KEY)
    if weakness:
        messages.append(Error(f"SECRET_KEY {weakness}.", hint=SECRET_KEY_HINT, id="zorio_widget.E001"))
    if settings.TURN_URLS and not settings.TURN_SECRET:
        messages.append(Error("TURN_URLS is set without TURN_SECRET: clients would get no credentials.",
                              hint="Set TURN_SECRET to coturn's static-auth-secret.", id="zorio_widget.E002"))
    if settings.DEMO_PAGES:
        messages.append(Warning("DEMO_PAGES is on: /demo/token mints tokens for the demo tenant.",
                                hint="Set DEMO_PAGES=false in production.", id="zorio_widget.W002"))
    if not settings.REDIS_URL:
        messages.append(Warning("No REDIS_URL: the in-memory channel layer works with one worker only.",
                                id="zorio_widget.W001"))
    return messages
