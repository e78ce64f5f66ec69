"""Encryption at rest of trunk passwords: Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``.

The key is ``FIELD_ENCRYPTION_KEY`` (Fernet keys, comma-separated: the first encrypts, every one
decrypts, so a key can be rotated), or else one derived from ``SECRET_KEY`` with HKDF-SHA256 (so a
fresh deployment encrypts without extra configuration; changing SECRET_KEY then needs the old one
in FIELD_ENCRYPTION_KEY). The database only ever holds Fernet tokens.
"""

from __future__ import annotations

import base64
import logging
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)

HKDF_SALT: Final = b"zorio-widget trunk field encryption"
HKDF_INFO: Final = b"fernet-key-v1"


def derived_key(secret: str) -> bytes:
    """The Fernet key HKDF-SHA256 derives from ``secret`` (SECRET_KEY)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def fernet() -> MultiFernet:
    keys = [k.strip() for k in str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "").split(",") if k.strip()]
    try:
        fernets = [Fernet(k) for k in keys]
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY holds a value that is not a Fernet key: {exc}") from exc
    fernets.append(Fernet(derived_key(settings.SECRET_KEY)))
    return MultiFernet(fernets)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    """The clear text; ``""`` (and an error logged) when no configured key opens the token."""
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        logger.error("a trunk password cannot be decrypted: FIELD_ENCRYPTION_KEY/SECRET_KEY changed?")
        return ""


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column holding a Fernet token; Python sees the clear text."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(str(value))
