"""GET /api/webphone/sip-config: the whole config, and every error as JSON."""

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

import pytest
from django.core import signing
from django.test import Client

from zorio_widget.tenants.models import Extension, Tenant, Theme
from zorio_widget.tenants.tokens import SALT, WebphoneTokenGenerator

URL = "/api/webphone/sip-config"


def get(client: Client, token: str | None, **headers: str):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(URL, headers=headers)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]


def test_happy_path_has_every_field(client: Client, extension: Extension, token: str, settings) -> None:
    settings.STUN_URLS, settings.TURN_URLS, settings.TURN_SECRET = ["stun:stun.example.net:3478"], [], ""
    settings.PUBLIC_WS_URL = ""
    Theme.objects.create(tenant=extension.tenant, name="Blue", is_default=True, default_locale="vi", mode="dark")
    response = get(client, token, Origin="http://127.0.0.1:5173")
    assert response.status_code == 200
    body = response.json()
    assert body["extension"] == "1001"
    assert body["display_name"] == "Alice Agent"
    assert body["user"] == {"username": "alice", "display_name": "Alice Agent", "email": "alice@acme.example"}
    assert body["tenant"] == {"slug": "acme", "name": "Acme"}
    assert body["ws_url"] == "ws://testserver/ws/webphone/"
    assert body["ice_servers"] == [{"urls": ["stun:stun.example.net:3478"]}]
    assert body["profile"] == {"enabled": True, "recording": False, "call_waiting": True}
    assert body["theme"]["name"] == "Blue" and body["theme"]["mode"] == "dark"
    assert body["locale"] == "vi"
    assert body["token_expires_at"].endswith("Z")
    assert set(body) == {"extension", "display_name", "user", "tenant", "ws_url", "ice_servers", "profile",
                         "theme", "locale", "token_expires_at"}


def test_defaults_without_theme_user_or_origin(client: Client, tenant: Tenant, make_token, settings) -> None:
    settings.DEFAULT_LOCALE = "en"
    settings.PUBLIC_WS_URL = "wss://phone.example.com/ws/webphone/"
    ext = Extension.objects.create(tenant=tenant, number="1005", recording_default=True, call_waiting=False)
    body = get(client, make_token(ext)).json()
    assert body["display_name"] == "1005"
    assert body["user"] == {"username": "1005", "display_name": "1005", "email": ""}
    assert body["theme"] is None and body["locale"] == "en"
    assert body["ws_url"] == "wss://phone.example.com/ws/webphone/"
    assert body["profile"] == {"enabled": True, "recording": True, "call_waiting": False}


def test_ws_url_is_wss_behind_https(client: Client, token: str, settings) -> None:
    settings.PUBLIC_WS_URL = ""
    response = client.get(URL, headers={"Authorization": f"Bearer {token}"}, secure=True)
    assert response.json()["ws_url"] == "wss://testserver/ws/webphone/"


def test_turn_credentials_verify_the_way_coturn_does(client: Client, token: str, settings) -> None:
    settings.STUN_URLS = []
    settings.TURN_URLS = ["turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349"]
    settings.TURN_SECRET = "coturn-static-auth-secret"
    settings.TURN_CREDENTIAL_TTL_S = 3600
    before = int(time.time())
    servers = get(client, token).json()["ice_servers"]
    after = int(time.time())
    assert len(servers) == 1
    turn = servers[0]
    assert turn["urls"] == settings.TURN_URLS
    expiry, user = turn["username"].split(":")
    assert user == "1001"
    assert before + 3600 <= int(expiry) <= after + 3600
    expected = hmac.new(b"coturn-static-auth-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(expected).decode()


def test_missing_and_garbage_tokens_are_unauthorized(client: Client, extension: Extension) -> None:
    assert_error(get(client, None), 401, "unauthorized")
    assert_error(client.get(URL, headers={"Authorization": "Bearer "}), 401, "unauthorized")
    assert_error(client.get(URL, headers={"Authorization": "Basic YWxpY2U6eA=="}), 401, "unauthorized")
    assert_error(get(client, "garbage"), 401, "unauthorized")
    forged = signing.dumps({"t": extension.tenant_id, "e": extension.pk, "x": 4_000_000_000}, salt="wrong")
    assert_error(get(client, forged), 401, "unauthorized")


def test_expired_token(client: Client, extension: Extension) -> None:
    class LongAgo(WebphoneTokenGenerator):
        def _now(self) -> float:
            return time.time() - 7200

    token, _claims = LongAgo().make_token(extension, 3600)
    assert_error(get(client, token), 401, "token_expired")


def test_disabled_extension(client: Client, extension: Extension, token: str) -> None:
    Extension.objects.filter(pk=extension.pk).update(enabled=False)
    assert_error(get(client, token), 403, "webphone_disabled")


def test_disabled_tenant(client: Client, extension: Extension, token: str) -> None:
    Tenant.objects.filter(pk=extension.tenant_id).update(enabled=False)
    assert_error(get(client, token), 403, "webphone_disabled")


def test_foreign_origin_is_forbidden(client: Client, token: str, other_tenant: Tenant) -> None:
    assert_error(get(client, token, Origin="https://evil.example"), 403, "forbidden")
    # An origin another tenant allows is still foreign to this token.
    assert_error(get(client, token, Origin="https://globex.example"), 403, "forbidden")
    assert get(client, token, Origin="https://crm.acme.example").status_code == 200


def test_extension_without_number_is_incomplete(client: Client, tenant: Tenant, make_token) -> None:
    ext = Extension.objects.create(tenant=tenant, number="", display_name="New hire")
    assert_error(get(client, make_token(ext)), 422, "incomplete_sip_config")


def test_token_of_another_tenant_gets_its_own_config(client: Client, token: str, other_tenant: Tenant,
                                                    make_token: Callable[..., str]) -> None:
    theirs = Extension.objects.create(tenant=other_tenant, number="1001", display_name="Theirs")
    assert get(client, token).json()["tenant"]["slug"] == "acme"
    body = get(client, make_token(theirs)).json()
    assert body["tenant"]["slug"] == "globex" and body["display_name"] == "Theirs"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_json_405(client: Client, token: str, method: str) -> None:
    response = getattr(client, method)(URL, headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_token_salt_is_stable() -> None:
    # Changing the salt logs out every widget in the field; make it a deliberate decision.
    assert SALT == "zorio_widget.tenants.tokens"
