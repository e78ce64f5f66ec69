"""The webhook signing secret, encrypted at rest with the project's field key.

The same Fernet keys as the trunk passwords (zorio_widget/trunks/crypto.py): `FIELD_ENCRYPTION_KEY`
(comma-separated, the first encrypts, all decrypt, for rotation), else a key derived from
SECRET_KEY. A database dump or backup then holds no usable secret.
"""

from __future__ import annotations

from zorio_widget.trunks import crypto as field_crypto


class SecretUnreadable(Exception):
    """No configured key opens the stored secret (FIELD_ENCRYPTION_KEY or SECRET_KEY changed)."""


def encrypt(secret: str) -> str:
    return field_crypto.encrypt(secret)


def decrypt(token: str) -> str:
    secret = field_crypto.decrypt(token)
    if token and not secret:
        raise SecretUnreadable("the webhook secret was encrypted with another key: put the old one in "
                               "FIELD_ENCRYPTION_KEY, or set a new secret")
    return secret
