"""The webhook signing secret, encrypted at rest with a key derived from SECRET_KEY.

A database dump or backup then holds no usable secret. Decryption also tries SECRET_KEY_FALLBACKS,
so rotating SECRET_KEY the Django way (old key moved to the fallbacks) keeps secrets readable;
`WebhookEndpoint.save()` re-encrypts with the current key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

_CONTEXT = b"zorio-webhook-secret:"


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + key.encode()).digest()))


def _keys() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode()


class SecretUnreadable(Exception):
    """The stored secret was encrypted with a key that is neither SECRET_KEY nor a fallback."""


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("the webhook secret was encrypted with another SECRET_KEY; set a new one") from exc
