"""Behind the TLS proxy (BEHIND_TLS_PROXY=true, as in docker-compose.yml), on a live Daphne.

Plain HTTP is redirected to HTTPS except the probes (orchestrators and Prometheus reach the
process directly); what Caddy forwards (X-Forwarded-Proto/-Host) makes Django see the public HTTPS
name, so the widget is told `wss://` on it; HSTS is sent. The compose healthcheck's probe passes.
"""

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer, free_port, manage, start_live_server

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "phone.example.com"


@pytest.fixture(scope="module")
def proxied() -> Iterator[LiveServer]:
    server = start_live_server({"BEHIND_TLS_PROXY": "true", "ALLOWED_HOSTS": f"{PUBLIC},127.0.0.1"})
    yield server
    server.stop()


def request(server: LiveServer, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    return response


def test_plain_http_is_redirected_except_the_probes(proxied: LiveServer) -> None:
    redirected = request(proxied, "/demo/")
    assert redirected.status == 301 and redirected.headers["Location"].startswith("https://127.0.0.1:")
    for path in ("/healthz", "/readyz", "/metrics"):
        assert request(proxied, path).status == 200, path


def test_forwarded_https_gives_the_public_wss_url_and_hsts(proxied: LiveServer) -> None:
    token = manage(proxied, "webphone_token", "1001").strip().splitlines()[-1]
    connection = http.client.HTTPConnection(proxied.url.removeprefix("http://"), timeout=10)
    connection.request("GET", "/api/webphone/sip-config", headers={
        "Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC})
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 200, body
    assert body["ws_url"] == f"wss://{PUBLIC}/ws/webphone/"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def probe(*args: str, allowed_hosts: str = PUBLIC) -> int:
    return subprocess.run([sys.executable, "-m", "zorio_widget.ops.probe", *args], cwd=ROOT, timeout=20,
                          env={"ALLOWED_HOSTS": allowed_hosts, "PATH": "/usr/bin:/bin"}, capture_output=True).returncode


def test_the_compose_healthcheck_probe(proxied: LiveServer) -> None:
    port = proxied.url.rsplit(":", 1)[1]
    assert probe("--port", port) == 0
    assert probe("--port", port, "--path", "/readyz") == 0
    assert probe("--port", port, allowed_hosts="not-allowed.example") == 1  # 400 from Django: not healthy
    assert probe("--port", str(free_port())) == 1
