"""System checks with stable ids for dangerous production settings."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        messages.append(Error("SECRET_KEY is the embedded development key.", hint="Set SECRET_KEY.",
                              id="zorio_widget.E001"))
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
