"""ICE servers for clients: STUN URLs and TURN with ephemeral REST-API credentials.

coturn's `use-auth-secret` mode accepts `username = "<expiry unix time>:<user>"` and
`credential = base64(HMAC-SHA1(static-auth-secret, username))`, so no TURN account is stored.
"""

import base64
import hashlib
import hmac
import time

from django.conf import settings


def turn_credentials(user: str, secret: str, ttl_s: int, now: float | None = None) -> tuple[str, str]:
    expiry = int(time.time() if now is None else now) + ttl_s
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(extension_number: str) -> list[dict[str, object]]:
    servers: list[dict[str, object]] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    if settings.TURN_URLS and settings.TURN_SECRET:
        username, credential = turn_credentials(
            extension_number, settings.TURN_SECRET, settings.TURN_CREDENTIAL_TTL_S
        )
        servers.append({"urls": list(settings.TURN_URLS), "username": username, "credential": credential})
    return servers
