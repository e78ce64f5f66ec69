"""`Zorio-Signature: t=UNIX,v1=HEX`: HMAC-SHA256 with the tenant's secret over `"<t>.<body>"`.

The timestamp is signed with the body, so a receiver rejects a replayed request once `t` is older
than its tolerance (`verify(..., tolerance_s=300)`); the event `id` in the body de-duplicates
retries, which carry a new `t` and the same body.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Zorio-Signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_S = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, tolerance_s: float = DEFAULT_TOLERANCE_S,
           now: float | None = None) -> bool:
    """Whether `header` signs `body` with `secret` and its `t` is within `tolerance_s` of `now`."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = compute(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
