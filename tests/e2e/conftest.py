"""Chromium (Debian's /usr/bin/chromium) through Playwright, and two ways to serve pages:

- `fake_site`: a tiny HTTP server with the built widget and a canned sip-config; the page talks to
  an in-page fake signalling server (`fake_server.js`) that answers with its own real RTCPeerConnection.
- `zorio_server`: the real Django/Daphne server (`tests/live.py`), for calls between two browsers.
"""

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agent import Agent
from tests.e2e.partner import partner, people  # noqa: F401 (fixtures of the softphone tests)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"  # CI keeps it (gitignored); tests/e2e/a11y.py writes there too
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--disable-background-networking", "--disable-component-update", "--no-first-run",
]

FAKE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>widget test</title>
<script src="/tests/fake_server.js"></script><script src="/tests/helpers.js"></script>
<script src="/static/zorio/webphone.js"></script></head><body><div id="phone"></div>
<script>
window.start = async (opts = {}) => {
  const phone = await ZorioWebphone.connect({apiBase: location.origin, token: "t", WebSocket: FakeWebSocket,
    mount: "#phone", debug: true, wrapUpSeconds: 0, reconnect: {baseDelayMs: 50, maxAttempts: 3}, ...opts});
  window.phone = phone;
  zorioRecord(phone);
  return phone.status;
};
// ?auto: the page connects and gets a call by itself, with no user gesture (autoplay tests).
if (location.search.includes("auto")) {
  // Playwright's evaluate and locator polling count as user gestures: tests wait on console lines.
  start().then(() => {
    phone.on("error", (e) => console.log("zorio-error:" + e.code));
    phone.on("incoming_call", () => console.log("zorio-incoming"));
    setTimeout(() => fake.incoming("1002", "Bob"), 300);
  });
}
</script></body></html>"""

SIP_CONFIG = {
    "extension": "1001", "display_name": "Alice", "user": {"username": "alice", "display_name": "Alice"},
    "tenant": {"slug": "demo", "name": "Demo"}, "ws_url": "ws://fake/ws/webphone/", "ice_servers": [],
    "profile": {"enabled": True, "recording": False, "call_waiting": True},
    "theme": {"name": "Demo", "mode": "light", "layout": "docked", "locale": "en", "logo_url": "",
              "primary_color": "#7c3aed"},
    "locale": "en", "token_expires_at": "2999-01-01T00:00:00+00:00",
}
# token -> (status, body) of GET /api/webphone/sip-config
SIP_CONFIG_ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    "t": (200, SIP_CONFIG),
    "fresh": (200, SIP_CONFIG),
    "expired": (401, {"code": "token_expired", "message": "The token has expired."}),
    "disabled": (403, {"code": "webphone_disabled", "message": "Disabled."}),
    "incomplete": (422, {"code": "incomplete_sip_config", "message": "No number."}),
}

_RECORD = {"direction": "incoming", "to": "1001", "to_name": "Alice", "duration": 0.0, "transferred_to": None,
           "options": {}, "recording_url": None, "card": None}
CANNED: dict[str, dict[str, Any]] = {
    "/api/webphone/calls": {"count": 3, "page": 1, "page_size": 30, "results": [
        {**_RECORD, "uuid": "r3", "from": "0912345678", "from_name": "", "started_at": "2026-01-02T09:15:00+00:00",
         "answered_at": None, "ended_at": "2026-01-02T09:15:30+00:00", "end_reason": "no-answer"},
        {**_RECORD, "uuid": "r2", "direction": "outgoing", "from": "1001", "from_name": "Alice", "to": "1003",
         "to_name": "Carol", "started_at": "2026-01-02T09:00:00+00:00", "answered_at": "2026-01-02T09:00:05+00:00",
         "ended_at": "2026-01-02T09:03:05+00:00", "duration": 180.0, "end_reason": "hangup"},
        {**_RECORD, "uuid": "r1", "from": "1002", "from_name": "Nguyễn Thị Minh Khai", "started_at": "2026-01-01T16:00:00+00:00",
         "answered_at": "2026-01-01T16:00:02+00:00", "ended_at": "2026-01-01T16:01:02+00:00", "duration": 60.0,
         "end_reason": "hangup"},
    ]},
    "/api/webphone/directory": {"results": [
        {"number": "1001", "name": "Alice", "self": True, "presence": "available"},
        {"number": "1002", "name": "Bob", "self": False, "presence": "busy"},
        {"number": "1003", "name": "Carol", "self": False, "presence": "available"},
        {"number": "1004", "name": "Dave", "self": False, "presence": "offline"},
    ]},
}


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        if path == "/page":
            self._send(200, FAKE_PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/api/webphone/sip-config":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            status, body = SIP_CONFIG_ANSWERS.get(token, (401, {"code": "unauthorized", "message": "Bad token."}))
            if token == "short":  # expires in 9 s: the SDK renews a third of its lifetime early (after 6 s)
                expires = datetime.now(UTC) + timedelta(seconds=9)
                status, body = 200, {**SIP_CONFIG, "token_expires_at": expires.isoformat()}
            self._send(status, json.dumps(body).encode(), "application/json")
        elif path in CANNED:  # what the live server answers, for the screens that read it (history, directory)
            self._send(200, json.dumps(CANNED[path]).encode(), "application/json")
        elif path.startswith("/tests/"):
            self._send(200, (HERE / path.removeprefix("/tests/")).read_bytes(), "text/javascript")
        elif path.startswith("/static/"):
            file = ROOT / path.lstrip("/")
            kind = {"js": "text/javascript", "wav": "audio/wav", "map": "application/json"}.get(file.suffix[1:], "text/plain")
            if file.is_file():
                self._send(200, file.read_bytes(), kind)
            else:
                self._send(404, b"", "text/plain")
        else:
            self._send(404, b"", "text/plain")


@pytest.fixture(scope="session")
def fake_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: make test installs chromium (.ci/system-packages)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def strict_autoplay_browser(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--autoplay-policy=document-user-activation-required"]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def mic_blocked_browser(playwright_instance: Any) -> Iterator[Any]:
    """Chromium whose permission prompt answers "Block" for the microphone (getUserMedia: NotAllowedError)."""
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"] + ["--use-fake-ui-for-media-stream=deny"]
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=args)
    yield browser
    browser.close()


@pytest.fixture
def fake_page(browser: Any, fake_site: str) -> Iterator[Any]:
    context = browser.new_context(permissions=["microphone"])
    page = context.new_page()
    page.goto(f"{fake_site}/page")
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def agents(browser: Any, daphne_server: Any) -> Iterator[dict[str, Agent]]:
    """Browser agents a test opens; closed afterwards (see tests/e2e/agent.py)."""
    made: dict[str, Agent] = {}
    yield made
    for agent in made.values():
        agent.close()
