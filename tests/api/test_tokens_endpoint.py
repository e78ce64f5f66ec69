"""POST /api/webphone/tokens: partner back-ends mint tokens with their API key."""

import json
import time
from datetime import datetime

import pytest
from django.test import Client

from zorio_widget.tenants.models import ApiKey, Extension, Tenant
from zorio_widget.tenants.tokens import token_generator

URL = "/api/webphone/tokens"


def post(client: Client, key: str | None, body: object = None, raw: str | None = None):
    headers = {"Authorization": f"Api-Key {key}"} if key is not None else {}
    data = raw if raw is not None else json.dumps(body if body is not None else {"extension": "1001"})
    return client.post(URL, data, content_type="application/json", headers=headers)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code


def test_valid_key_mints_a_token_for_its_extension(client: Client, extension: Extension, api_key: str) -> None:
    before = time.time()
    response = post(client, api_key, {"extension": "1001", "ttl": 600})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "expires_at", "refresh_token"}
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
    assert before + 599 <= expires <= time.time() + 600
    resolved, claims = token_generator.resolve(body["token"])
    assert resolved == extension
    assert claims.expires_at == int(expires)
    # The minted token works for sip-config.
    config = client.get("/api/webphone/sip-config", headers={"Authorization": f"Bearer {body['token']}"})
    assert config.status_code == 200 and config.json()["extension"] == "1001"


def test_default_ttl_and_last_used(client: Client, extension: Extension, api_key: str, settings) -> None:
    settings.TOKEN_DEFAULT_TTL_S = 90
    response = post(client, api_key, {"extension": "1001"})
    assert response.status_code == 201
    _ext, claims = token_generator.resolve(response.json()["token"])
    assert claims.expires_at - time.time() <= 90
    assert ApiKey.objects.get().last_used_at is not None


def test_missing_unknown_and_revoked_keys_are_unauthorized(client: Client, extension: Extension,
                                                           api_key: str) -> None:
    assert_error(post(client, None), 401, "unauthorized")
    assert_error(post(client, ""), 401, "unauthorized")
    assert_error(post(client, "not-a-real-key-at-all"), 401, "unauthorized")
    assert_error(post(client, api_key[:-2] + "zz"), 401, "unauthorized")
    response = client.post(URL, {"extension": "1001"}, content_type="application/json",
                           headers={"Authorization": f"Bearer {api_key}"})
    assert_error(response, 401, "unauthorized")
    ApiKey.objects.update(revoked=True)
    assert_error(post(client, api_key), 401, "unauthorized")


def test_key_of_a_disabled_tenant(client: Client, extension: Extension, api_key: str) -> None:
    Tenant.objects.update(enabled=False)
    assert_error(post(client, api_key), 403, "webphone_disabled")


def test_another_tenants_extension_is_not_found(client: Client, extension: Extension, other_tenant: Tenant) -> None:
    Extension.objects.create(tenant=other_tenant, number="2001")
    _key, their_key = ApiKey.objects.create_key(other_tenant)
    assert_error(post(client, their_key, {"extension": "1001"}), 400, "bad_request")
    assert post(client, their_key, {"extension": "2001"}).status_code == 201


@pytest.mark.parametrize("raw", ["{", "not json", "\xff", "[]", '"1001"', "null", "1"])
def test_bad_json_is_bad_request(client: Client, extension: Extension, api_key: str, raw: str) -> None:
    assert_error(post(client, api_key, raw=raw), 400, "bad_request")


@pytest.mark.parametrize("body", [
    {},
    {"extension": ""},
    {"extension": 1001},
    {"extension": None},
    {"extension": "1001", "ttl": 0},
    {"extension": "1001", "ttl": -1},
    {"extension": "1001", "ttl": 86401},
    {"extension": "1001", "ttl": "60"},
    {"extension": "1001", "ttl": 60.5},
    {"extension": "1001", "ttl": True},
    {"extension": "1001", "ttl": None},
    {"extension": "9999"},
])
def test_bad_fields_are_bad_request(client: Client, extension: Extension, api_key: str, body: dict) -> None:
    assert_error(post(client, api_key, body), 400, "bad_request")


def test_no_csrf_token_needed(extension: Extension, api_key: str) -> None:
    client = Client(enforce_csrf_checks=True)
    assert post(client, api_key).status_code == 201
