"""CORS: only origins an enabled tenant allows get Access-Control-Allow-Origin, on /api/ only."""

import pytest
from django.test import Client

from zorio_widget.tenants.models import Extension, Tenant

URL = "/api/webphone/sip-config"
ALLOWED = "http://127.0.0.1:5173"


def preflight(client: Client, origin: str, url: str = URL, method: str = "GET"):
    return client.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                        "Access-Control-Request-Headers": "authorization, content-type"})


def test_allowed_origin_gets_cors_headers(client: Client, token: str) -> None:
    response = client.get(URL, headers={"Origin": ALLOWED, "Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED


def test_allowed_origin_preflight(client: Client, extension: Extension) -> None:
    for url, method in [(URL, "GET"), ("/api/webphone/tokens", "POST"), ("/api/webphone/calls", "GET")]:
        response = preflight(client, ALLOWED, url, method)
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == ALLOWED
        assert "authorization" in response["Access-Control-Allow-Headers"]
        assert method in response["Access-Control-Allow-Methods"]


def test_error_responses_carry_cors_headers_too(client: Client, extension: Extension) -> None:
    """A widget must be able to read the JSON error code of a cross-origin request."""
    response = client.get(URL, headers={"Origin": ALLOWED, "Authorization": "Bearer expired-or-garbage"})
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.2:5173", "https://127.0.0.1:5173",
                                    "null"])
def test_other_origins_get_none(client: Client, token: str, origin: str) -> None:
    response = preflight(client, origin)
    assert "Access-Control-Allow-Origin" not in response
    response = client.get(URL, headers={"Origin": origin, "Authorization": f"Bearer {token}"})
    assert "Access-Control-Allow-Origin" not in response


def test_disabled_tenant_origins_get_none(client: Client, extension: Extension) -> None:
    Tenant.objects.update(enabled=False)
    assert "Access-Control-Allow-Origin" not in preflight(client, ALLOWED)


def test_pages_outside_the_api_get_none(client: Client, extension: Extension) -> None:
    response = client.get("/demo/", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response
