"""/softphone/ (the iframe page) may be framed only by allowed origins; /demo/iframe/ uses it."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from zorio_widget.tenants.models import Extension, Tenant
from zorio_widget.web.softphone import frame_ancestors


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else "" for part in policy.split("; ")}


def ancestors(response) -> str:
    return "frame-ancestors " + directives(response)["frame-ancestors"]


def config(response) -> dict:
    match = re.search(rb'<script id="zorio-softphone-config" type="application/json">(.*?)</script>', response.content)
    assert match, response.content[:500]
    return json.loads(match.group(1))


@pytest.fixture
def demo(db: None) -> Tenant:
    return Tenant.objects.create(name="Demo", slug="demo", allowed_origins="http://127.0.0.1:*\nhttp://localhost:*")


def test_framed_by_the_tenants_origins_only(client: Client, demo: Tenant, other_tenant: Tenant) -> None:
    response = client.get("/softphone/", {"tenant": "demo"})
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert ancestors(response) == "frame-ancestors http://127.0.0.1:* http://localhost:*"
    assert config(response)["origins"] == ["http://127.0.0.1:*", "http://localhost:*"]
    assert config(response)["tenant"] == "demo"
    by_id = client.get("/softphone/", {"tenant": str(demo.pk)})
    assert by_id["Content-Security-Policy"] == response["Content-Security-Policy"]
    assert b"zorio/softphone-app.js" in response.content


def test_the_token_decides_the_tenant(client: Client, extension: Extension, token: str, demo: Tenant) -> None:
    response = client.get("/softphone/", {"token": token})
    assert ancestors(response) == "frame-ancestors http://127.0.0.1:* https://crm.acme.example"
    assert config(response)["tenant"] == "acme"


def test_a_token_less_load_allows_every_enabled_tenant(client: Client, demo: Tenant, tenant: Tenant,
                                                      other_tenant: Tenant) -> None:
    Tenant.objects.create(name="Off", slug="off", allowed_origins="https://off.example", enabled=False)
    sources = directives(client.get("/softphone/"))["frame-ancestors"].split()
    assert set(sources) == {"http://127.0.0.1:*", "http://localhost:*", "https://crm.acme.example", "https://globex.example"}


def test_unknown_tenant_may_not_frame_it(client: Client, demo: Tenant) -> None:
    response = client.get("/softphone/", {"tenant": "nobody"})
    assert ancestors(response) == "frame-ancestors 'none'"
    assert config(response)["origins"] == []


def test_the_page_has_a_strict_policy_of_its_own(client: Client, demo: Tenant, settings) -> None:
    """No inline script or style runs on the page (its styles are adopted stylesheets), and it talks to this
    server only: the REST API and the WebSocket, also where PUBLIC_WS_URL puts it on another host."""
    policy = directives(client.get("/softphone/", {"tenant": "demo"}))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert "'unsafe-inline'" not in client.get("/softphone/")["Content-Security-Policy"]
    assert policy["connect-src"] == "'self' ws://testserver"
    settings.PUBLIC_WS_URL = "wss://ws.phone.example/ws/webphone/"
    assert directives(client.get("/softphone/"))["connect-src"] == "'self' wss://ws.phone.example"
    html = client.get("/softphone/").content.decode()
    assert "<style" not in html and " style=" not in html


def test_patterns_csp_cannot_express_are_left_out() -> None:
    assert frame_ancestors(["https://*.acme.example", "https://crm-*.acme.example", "http://x:8000"]) == \
        "frame-ancestors https://*.acme.example http://x:8000"


def test_other_pages_still_deny_framing(client: Client, demo: Tenant) -> None:
    assert client.get("/demo/")["X-Frame-Options"] == "DENY"


def test_demo_iframe_page(client: Client, demo: Tenant) -> None:
    response = client.get("/demo/iframe/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "zorio/softphone.js" in html and 'href="tel:1002"' in html and 'href="callto:1003"' in html


def test_demo_iframe_is_off_in_production(client: Client, settings) -> None:
    settings.DEMO_PAGES = False
    assert client.get("/demo/iframe/").status_code == 404


def test_the_service_worker_is_served_under_the_softphone_page(client: Client, demo: Tenant) -> None:
    """/softphone/sw.js (scope /softphone/, which covers the page) is the built worker, as JavaScript that
    loads nothing; the page's policy allows it as its only worker."""
    response = client.get("/softphone/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Content-Security-Policy"] == "default-src 'none'"
    built = (Path(__file__).resolve().parents[2] / "static" / "zorio" / "softphone-sw.js").read_bytes()
    assert response.content == built and b"notificationclick" in built
    assert directives(client.get("/softphone/", {"tenant": "demo"}))["worker-src"] == "'self'"
    assert client.post("/softphone/sw.js").status_code == 405
