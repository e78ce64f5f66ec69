"""The session the softphone remembers in the tab is bound to the host page's origin and tenant.

Two tenants, each allowing one host page on its own port of 127.0.0.1 (one site, so the
softphone iframe sees one sessionStorage in both pages of a tab). Both pages embed the softphone
without `tenantId`, so the iframe page itself may be framed by either (the tenants also allow
the Zorio server's own origin, where the iframe's WebSocket comes from). Tenant A's page logs in;
the same tab then opens tenant B's page, which must not get A's agent: no phone, no A token on
its WebSocket or HTTP requests, nothing about A in the messages it receives.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.partner import _serve
from tests.live import manage

pytestmark = pytest.mark.e2e

HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TITLE</title></head><body>
<h1>TITLE</h1>
<script src="SERVER/static/zorio/softphone.js"></script>
<script>
window.events = [];
window.heard = [];  // every message this window receives, as text
addEventListener("message", (e) => heard.push(JSON.stringify(e.data)));
for (const name of ["onAuthenticated", "onLoggedOut", "onIFrameLoaded"]) {
  ZorioSoftphone[name] = (...args) => events.push({name, args: JSON.parse(JSON.stringify(args))});
}
ZorioSoftphone.init({server: "SERVER", debug: true});
</script></body></html>"""

# On B's site: frames the softphone itself, claiming to be A's page (`?origin=`).
CLAIMING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>claims A</title></head><body>
<iframe id="sp" src="SERVER/softphone/?origin=ORIGIN_A&debug=1" style="width:400px;height:400px"></iframe>
<script>
window.events = [{name: "onIFrameLoaded"}];  // what Tab.open waits for
window.heard = [];
addEventListener("message", (e) => heard.push(JSON.stringify(e.data)));
// it tries to prove the claimed origin with the loader's hello
document.getElementById("sp").addEventListener("load", (e) =>
  e.target.contentWindow.postMessage({zorio: {v: 1, type: "hello", id: "h1", payload: {}}}, "*"));
</script></body></html>"""

LEGACY_KEY = "zorio-softphone-token"  # where the softphone remembered its token before sessions were bound


@dataclass
class Tenant:
    slug: str
    extension: str
    page: str  # the tenant's host page

    @property
    def origin(self) -> str:
        return self.page.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def tenants(daphne_server: Any) -> Iterator[tuple[Tenant, Tenant]]:
    made, servers = [], []
    for slug, number in (("sessions-a", "3101"), ("sessions-b", "3201")):
        page = HOST_PAGE.replace("SERVER", daphne_server.url).replace("TITLE", slug)
        pages = {"/crm.html": page}
        if made:  # B's site also has a page that claims to be A's
            claiming = CLAIMING_PAGE.replace("SERVER", daphne_server.url).replace("ORIGIN_A", made[0].origin)
            pages["/claim.html"] = claiming
        server, origin = _serve("127.0.0.1", pages)
        servers.append(server)
        # the softphone's own origin too: its WebSocket comes from there, and the server checks it
        manage(daphne_server, "add_tenant", slug, slug.title(), "--origin", origin, "--origin", daphne_server.url,
               "--extension", f"{number}:Agent {number}")
        made.append(Tenant(slug, number, f"{origin}/crm.html"))
    yield made[0], made[1]
    for server in servers:
        server.shutdown()


def _token(server: Any, tenant: Tenant) -> str:
    return manage(server, "webphone_token", tenant.extension, "--tenant", tenant.slug).strip()


class Tab:
    """One browser tab that goes from page to page, recording what its frames send to the server."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(permissions=["microphone"])
        self.page = self.context.new_page()
        self.sent: list[tuple[str, str]] = []  # (host page origin, WebSocket frame or Authorization header)
        self.page.on("websocket", lambda ws: ws.on("framesent", lambda payload: self.sent.append((self.origin, str(payload)))))
        self.page.on("request", lambda r: self.sent.append((self.origin, r.headers.get("authorization", ""))))
        self.origin = ""

    def open(self, tenant: Tenant, path: str = "/crm.html") -> None:
        self.origin = tenant.origin
        self.page.goto(tenant.origin + path)
        self.page.wait_for_function("events.some(e => e.name === 'onIFrameLoaded')", timeout=15000)

    @property
    def frame(self) -> Any:
        return next(f for f in self.page.frames if "/softphone/" in f.url)

    def status(self) -> str:
        return str(self.frame.evaluate("document.body.dataset.status"))

    def wait_registered(self, extension: str) -> None:
        self.frame.wait_for_function("() => window.zorioPhone && zorioPhone.status === 'registered'", timeout=20000)
        assert self.frame.evaluate("zorioPhone.extension") == extension
        self.page.wait_for_function("events.some(e => e.name === 'onAuthenticated')")

    def events(self, name: str) -> list[Any]:
        return [e["args"] for e in self.page.evaluate("events") if e["name"] == name]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    made = Tab(browser)
    yield made
    made.close()


def test_a_remembered_session_is_never_resumed_for_another_tenants_page(daphne_server: Any, tenants: tuple,
                                                                       tab: Tab) -> None:
    a, b = tenants
    token_a = _token(daphne_server, a)
    tab.open(a)
    info = tab.page.evaluate("t => ZorioSoftphone.loginWithToken(t)", token_a)
    assert info["extension"] == a.extension and info["tenant"] == a.slug
    tab.wait_registered(a.extension)
    assert [what for origin, what in tab.sent if origin == a.origin and token_a in what]  # the recording works
    # the session is remembered: A's page, reloaded, resumes it by itself
    tab.open(a)
    tab.wait_registered(a.extension)

    # the same tab on B's page: the softphone is there, but not logged in as A's agent
    tab.open(b)
    tab.page.wait_for_timeout(3000)  # time enough for a resumed session to register
    assert tab.status() == "ready"
    assert tab.frame.evaluate("window.zorioPhone === undefined")
    assert tab.page.frame_locator("iframe.zorio-softphone").locator("zorio-phone").count() == 0
    assert not tab.events("onAuthenticated")
    on_b = [what for origin, what in tab.sent if origin == b.origin]
    assert not [what for what in on_b if token_a in what]  # neither WebSocket auth nor sip-config
    heard = tab.page.evaluate("heard")
    assert heard and not [m for m in heard if token_a in m or a.extension in m or a.slug in m]

    # B's own agent logs in there; back on A's page, A's session is still A's
    tab.page.evaluate("t => ZorioSoftphone.loginWithToken(t)", _token(daphne_server, b))
    tab.wait_registered(b.extension)
    tab.open(a)
    tab.wait_registered(a.extension)
    assert tab.events("onAuthenticated")[0][0]["tenant"] == a.slug


def test_a_session_remembered_in_the_old_format_is_dropped_unused(daphne_server: Any, tenants: tuple,
                                                                  tab: Tab) -> None:
    a, _b = tenants
    token_a = _token(daphne_server, a)
    tab.open(a)
    tab.frame.evaluate(f"t => sessionStorage.setItem({json.dumps(LEGACY_KEY)}, t)", token_a)
    tab.open(a)
    tab.page.wait_for_timeout(3000)
    assert tab.status() == "ready"
    assert tab.frame.evaluate("window.zorioPhone === undefined")
    assert tab.frame.evaluate(f"sessionStorage.getItem({json.dumps(LEGACY_KEY)})") is None
    assert not [what for origin, what in tab.sent if token_a in what]


def test_without_ancestor_origins_a_session_waits_for_the_host_to_prove_its_origin(daphne_server: Any,
                                                                                  tenants: tuple, tab: Tab) -> None:
    # as in a browser without location.ancestorOrigins (Firefox): the iframe knows its host only from
    # the loader's `?origin=` claim until the host's own message (its event.origin) proves it
    def without_ancestor_origins(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("ancestorOrigins", "zorioNoAncestors"))

    tab.page.route("**/static/zorio/softphone-app.js", without_ancestor_origins)
    a, b = tenants
    token_a = _token(daphne_server, a)
    tab.open(a)
    tab.page.evaluate("t => ZorioSoftphone.loginWithToken(t)", token_a)
    tab.wait_registered(a.extension)
    tab.open(a)  # the real loader proves A's origin: the session resumes
    tab.wait_registered(a.extension)

    # B's page frames the softphone claiming A's origin: nothing B sends can prove it
    tab.open(b, "/claim.html")
    tab.page.wait_for_timeout(3000)
    assert tab.status() == "ready"
    assert tab.frame.evaluate("window.zorioPhone === undefined")
    assert b.origin in tab.frame.evaluate("zorioIgnored")  # its hello was refused
    assert not [what for origin, what in tab.sent if origin == b.origin and token_a in what]
    assert not [m for m in tab.page.evaluate("heard") if token_a in m]
