"""The partner site of the softphone e2e tests: a page on another origin than the Zorio server
(a second port of 127.0.0.1, allowed by the demo tenant) that loads softphone.js and records every
callback, with an attacker's page (127.0.0.2, not allowed) inside it; `Host` drives it, `Peer` is a
plain webphone (/demo/) in its own context."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

CALLBACKS = [
    "onCallIncoming", "onCallLocallyAnswered", "onCallEstablished", "onOutgoingCallMade", "onCallRejected",
    "onCallEnded", "onCardSaved", "onCardCanceled", "onCallHeld", "onCallResumed", "onCallMuted", "onCallUnMuted",
    "onDtmfSent", "onDirectTransfer", "onAuthenticated", "onLoggedOut", "onIFrameLoaded",
    "onDisplayLinkedOption", "onCreateOption", "onWazoContactSearch", "onAgentLoggedIn", "onAgentLoggedOut",
    "onAgentPaused", "onAgentResumed", "onLanguageChanged", "onCreateIndirectTransfer", "onIndirectCallMade",
    "onCancelIndirectTransfer", "onConfirmIndirectTransfer", "onIndirectTransferDone", "onStartRecording",
    "onStopRecording", "onCallLogCreated", "onWebsocketMessage",
]
HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner CRM</title></head><body>
<h1>Partner CRM</h1>
<ul id="contacts">
  <li><a id="bob" href="tel:1002">Bob</a></li>
  <li><a id="carol" href="callto:1003" class="crm">Carol</a></li>
  <li><a id="web" href="https://example.com/">web</a></li>
</ul>
<iframe id="evil" src="EVIL/evil.html" style="width:10px;height:10px"></iframe>
<script src="SERVER/static/zorio/softphone.js"></script>
<script>
window.events = [];
window.foreign = [];  // envelopes that reached this window from anywhere but the softphone iframe
addEventListener("message", (e) => {
  const iframe = document.querySelector("iframe.zorio-softphone");
  if (e.data && e.data.zorio && (!iframe || e.source !== iframe.contentWindow)) foreign.push(e.origin);
  if (e.data === "attacked") window.attacked = true;
});
const record = (name) => (...args) => { events.push({name, args: JSON.parse(JSON.stringify(args))}); };
for (const name of NAMES) ZorioSoftphone[name] = record(name);
ZorioSoftphone.onLinkEnabled = (link) => events.push({name: "onLinkEnabled", args: [link.getAttribute("href")]});
ZorioSoftphone.onSearchOptions = (fieldId, query, call) => {
  events.push({name: "onSearchOptions", args: [fieldId, query, call && call.number]});
  return [{value: "cust-1", label: "Acme Ltd"}, {value: "cust-2", label: "Globex"}]
    .filter((o) => o.label.toLowerCase().includes(query.toLowerCase()));
};
const params = new URLSearchParams(location.search);
ZorioSoftphone.init({server: "SERVER", tenantId: "demo", width: 820, height: 700, debug: true,
                     wrapUpDuration: Number(params.get("wrapup") || 30)});
</script></body></html>"""

# On the attacker's origin: posts well-formed envelopes to every frame of its parent (the softphone
# iframe among them) and to the parent itself.
EVIL_PAGE = """<!doctype html><html><body><script>
window.addEventListener("message", (e) => {
  if (e.data !== "attack") return;
  const env = (type, payload) => ({zorio: {v: 1, type, id: "x" + Math.random(), payload}});
  for (let i = 0; i < parent.frames.length; i++) {
    try { parent.frames[i].postMessage(env("call", {number: "*43"}), "*"); } catch (err) {}
  }
  parent.postMessage(env("event", {name: "onCallIncoming", args: [{number: "666"}]}), "*");
  parent.postMessage(env("ready", {}), "*");
  parent.postMessage("attacked", "*");
});
</script></body></html>"""


class _Site(BaseHTTPRequestHandler):
    pages: dict[str, str] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.pages.get(self.path.split("?")[0])
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write((body or "").encode())


def _serve(host: str, pages: dict[str, str]) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Site", (_Site,), {"pages": pages})
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


@pytest.fixture(scope="module")
def partner(daphne_server: Any) -> Iterator[str]:
    """The partner site (allowed origin, another port) with the attacker's site inside it."""
    evil_server, evil = _serve("127.0.0.2", {"/evil.html": EVIL_PAGE})
    page = (HOST_PAGE.replace("SERVER", daphne_server.url).replace("EVIL", evil)
            .replace("NAMES", json.dumps(CALLBACKS)))
    server, url = _serve("127.0.0.1", {"/crm.html": page})
    assert url.rsplit(":", 1)[1] != daphne_server.url.rsplit(":", 1)[1]
    yield url
    server.shutdown()
    evil_server.shutdown()


class Host:
    """The partner page with the softphone iframe."""

    def __init__(self, browser: Any, partner: str, query: str = "", permissions: tuple[str, ...] = ("microphone",),
                 init_scripts: tuple[str, ...] = (), service_workers: str = "allow") -> None:
        self.context = browser.new_context(permissions=list(permissions), service_workers=service_workers)
        for script in init_scripts:  # in every frame: the partner page and the softphone iframe
            self.context.add_init_script(script)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: None)
        self.page.goto(f"{partner}/crm.html{query}")
        self.wait_event("onIFrameLoaded")
        self.sp = self.page.frame_locator("iframe.zorio-softphone")

    @property
    def frame(self) -> Any:
        return next(f for f in self.page.frames if "/softphone/" in f.url)

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def events(self, name: str) -> list[list[Any]]:
        return [e["args"] for e in self.js("events") if e["name"] == name]

    def wait_event(self, name: str, count: int = 1, timeout: float = 15000) -> list[Any]:
        self.page.wait_for_function(f"events.filter(e => e.name === {json.dumps(name)}).length >= {count}",
                                    timeout=timeout)
        return self.events(name)[count - 1]

    def login(self, token: str) -> dict:
        info = self.js("t => ZorioSoftphone.loginWithToken(t)", token)
        self.frame.wait_for_function("() => window.zorioPhone && zorioPhone.status === 'registered'")
        return dict(info)

    def ui(self, selector: str) -> Any:
        return self.sp.locator(f"zorio-phone {selector}")

    def close(self) -> None:
        self.context.close()


class Peer:
    """A plain webphone (/demo/) in its own context."""

    def __init__(self, browser: Any, url: str, extension: str) -> None:
        self.context = browser.new_context(permissions=["microphone"])
        self.page = self.context.new_page()
        self.page.goto(f"{url}/demo/?extension={extension}&debug=1")
        self.page.wait_for_function("window.phone && phone.status === 'registered'", timeout=20000)

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def wait(self, expression: str, timeout: float = 15000) -> None:
        self.page.wait_for_function(expression, timeout=timeout)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(browser: Any) -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for who in made:
        who.close()
