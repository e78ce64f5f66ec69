"""POST /api/webphone/tokens returns a refresh token; POST /api/webphone/tokens/refresh rotates it."""

import json
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from zorio_widget.tenants.models import Extension, RefreshToken
from zorio_widget.tenants.refresh import refresh_tokens
from zorio_widget.tenants.tokens import token_generator

TOKENS = "/api/webphone/tokens"
REFRESH = "/api/webphone/tokens/refresh"


def mint(client: Client, api_key: str, ttl: int = 300) -> dict:
    response = client.post(TOKENS, json.dumps({"extension": "1001", "ttl": ttl}), content_type="application/json",
                           headers={"Authorization": f"Api-Key {api_key}"})
    assert response.status_code == 201, response.content
    return response.json()


def refresh(client: Client, body: object, **headers: str):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(REFRESH, data, content_type="application/json", headers=headers)


def test_a_token_comes_with_a_refresh_token_that_rotates_without_other_credentials(
        client: Client, extension: Extension, api_key: str) -> None:
    first = mint(client, api_key, ttl=20)
    assert set(first) == {"token", "expires_at", "refresh_token"}
    seen = {first["refresh_token"]}
    current = first
    for _ in range(3):
        response = refresh(client, {"refresh_token": current["refresh_token"]})
        assert response.status_code == 200, response.content
        current = response.json()
        assert set(current) == {"token", "expires_at", "refresh_token"}
        assert current["refresh_token"] not in seen
        seen.add(current["refresh_token"])
        extension_of, claims = token_generator.resolve(current["token"])
        assert extension_of == extension and claims.expires_at - token_generator._now() <= 20
        assert claims.expires_at_iso == current["expires_at"]
        config = client.get("/api/webphone/sip-config", headers={"Authorization": f"Bearer {current['token']}"})
        assert config.status_code == 200
    assert RefreshToken.objects.count() == 4


def test_a_reused_refresh_token_is_refused_and_ends_the_session(client: Client, extension: Extension, api_key: str) -> None:
    first = mint(client, api_key)
    second = refresh(client, {"refresh_token": first["refresh_token"]}).json()
    reused = refresh(client, {"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["code"] == "unauthorized"
    assert "already used" in reused.json()["message"]
    after = refresh(client, {"refresh_token": second["refresh_token"]})
    assert after.status_code == 401 and after.json()["code"] == "unauthorized"


def test_bad_bodies_are_bad_requests_and_change_nothing(client: Client, extension: Extension, api_key: str) -> None:
    issued = mint(client, api_key)
    for body in ({}, {"refresh_token": ""}, {"refresh_token": 7}, {"refresh_token": "x" * 201}, "[1]", "not json"):
        response = refresh(client, body)
        assert response.status_code == 400 and response.json()["code"] == "bad_request", body
    unknown = refresh(client, {"refresh_token": "zrt_" + "a" * 43})
    assert unknown.status_code == 401 and unknown.json()["code"] == "unauthorized"
    assert RefreshToken.objects.get().used_at is None
    assert refresh(client, {"refresh_token": issued["refresh_token"]}).status_code == 200
    assert client.get(REFRESH).status_code == 405


def test_origin_and_disabled_extension(client: Client, extension: Extension, api_key: str) -> None:
    issued = mint(client, api_key)
    foreign = refresh(client, {"refresh_token": issued["refresh_token"]}, Origin="https://evil.example")
    assert foreign.status_code == 403 and foreign.json()["code"] == "forbidden"
    allowed = refresh(client, {"refresh_token": issued["refresh_token"]}, Origin="https://crm.acme.example")
    assert allowed.status_code == 200
    # the browser of an allowed origin can read the answer (CORS)
    assert allowed["Access-Control-Allow-Origin"] == "https://crm.acme.example"
    Extension.objects.filter(pk=extension.pk).update(enabled=False)
    disabled = refresh(client, {"refresh_token": allowed.json()["refresh_token"]})
    assert disabled.status_code == 403 and disabled.json()["code"] == "webphone_disabled"


def test_a_refresh_token_past_its_lifetime_is_refused_with_token_expired(
        client: Client, extension: Extension, api_key: str, settings, monkeypatch) -> None:
    """REFRESH_TOKEN_TTL_S sets the lifetime: a token presented after it gets 401 token_expired (the
    documented error, README's REST table) and stays unused; the same wait within a longer lifetime works."""
    settings.REFRESH_TOKEN_TTL_S = 60
    short = mint(client, api_key)
    row = RefreshToken.objects.get()
    assert abs((row.expires_at - timezone.now()).total_seconds() - 60) < 5
    settings.REFRESH_TOKEN_TTL_S = 120
    longer = mint(client, api_key)
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr(refresh_tokens, "_now", lambda: later)  # the seam: a minute and a second go by
    expired = refresh(client, {"refresh_token": short["refresh_token"]})
    assert expired.status_code == 401, expired.content
    assert expired.json() == {"code": "token_expired", "message": "The refresh token has expired; sign in again."}
    assert RefreshToken.objects.get(pk=row.pk).used_at is None  # refused: nothing used, nothing revoked
    assert not RefreshToken.objects.filter(revoked=True).exists()
    renewed = refresh(client, {"refresh_token": longer["refresh_token"]})
    assert renewed.status_code == 200, renewed.content
    assert token_generator.resolve(renewed.json()["token"])[0] == extension
