"""TURN REST-API credentials as coturn's `use-auth-secret` checks them."""

import base64
import hashlib
import hmac

from zorio_widget.tenants.ice import ice_servers_for, turn_credentials


def coturn_accepts(username: str, credential: str, secret: str, now: float) -> bool:
    """What coturn does: recompute base64(HMAC-SHA1(secret, username)), check the expiry prefix."""
    expected = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    expiry = int(username.split(":", 1)[0])
    return hmac.compare_digest(expected, credential) and expiry > now


def test_turn_credentials_format() -> None:
    username, credential = turn_credentials("1001", "s3cret", 600, now=1_000_000)
    assert username == "1000600:1001"
    assert coturn_accepts(username, credential, "s3cret", now=1_000_000)
    assert not coturn_accepts(username, credential, "other", now=1_000_000)
    assert not coturn_accepts(username, credential, "s3cret", now=1_000_601)


def test_ice_servers_empty_by_default(settings) -> None:
    settings.STUN_URLS, settings.TURN_URLS, settings.TURN_SECRET = [], [], ""
    assert ice_servers_for("1001") == []


def test_turn_without_secret_is_left_out(settings) -> None:
    settings.STUN_URLS = ["stun:stun.example.net:3478"]
    settings.TURN_URLS, settings.TURN_SECRET = ["turn:turn.example.net:3478"], ""
    assert ice_servers_for("1001") == [{"urls": ["stun:stun.example.net:3478"]}]
