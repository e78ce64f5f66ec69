"""Short-lived tokens renewed again and again during a live call, in Chromium against a live server:
the SDK's `tokenResolver` (the demo page asks its stand-in back-end for each token) and the
softphone's `loginWithToken(token, refreshToken)` (POST /api/webphone/tokens/refresh, rotating).

The server closes a socket once its token expires (zorio_widget/signalling/access.py): a session
that did not move to its renewed tokens would drop (`unregistered`) within seconds of the first
expiry. Both sessions here outlive several expiries with the call up and audio both ways.
"""

import json
import urllib.request
from typing import Any

import pytest

from tests.e2e.agent import HELPERS, SOUND, Agent
from tests.e2e.partner import Host

pytestmark = pytest.mark.e2e

TTL_S = 15
RENEWALS = 3
#: Renewal is due a third of the lifetime early: every ~10 s with 15 s tokens.
WAIT_MS = int((RENEWALS * TTL_S * 2 / 3 + 4) * 1000)


def test_the_sdk_token_resolver_renews_the_session_through_several_expiries(browser: Any, daphne_server: Any,
                                                                            agents: dict) -> None:
    context = browser.new_context(permissions=["microphone"])
    context.add_init_script(path=str(HELPERS))
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/demo/token" in r.url else None)
    try:
        page.goto(f"{daphne_server.url}/demo/?extension=1003&debug=1&ttl={TTL_S}")
        page.wait_for_function("window.phone && phone.status === 'registered'", timeout=20000)
        page.evaluate("zorioRecord(phone)")
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        page.evaluate("phone.call('1002').then((call) => { window.out = call; })")
        bob.ui(".zorio-answer").wait_for()
        bob.ui(".zorio-answer").click()
        page.wait_for_function("window.out && out.state === 'answered'")
        first = len(requests)
        page.wait_for_timeout(WAIT_MS)
        assert len(requests) - first >= RENEWALS, requests  # the resolver was asked before each expiry
        assert page.evaluate("phone.status") == "registered"
        assert page.evaluate("out.state") == "answered"
        names = page.evaluate("zorioEvents.map(e => e.name)")
        assert "unregistered" not in names and "reconnecting" not in names, (names, console[-40:])
        # audio both ways after the last move
        assert page.evaluate("zorioRemoteEnergy(1500)") > SOUND
        assert bob.energy() > SOUND
        page.evaluate("out.hangup()")
        bob.wait("phone.calls[0].state === 'wrap_up'")
    finally:
        context.close()


def test_the_softphone_refresh_token_renews_the_session_through_several_expiries(
        browser: Any, daphne_server: Any, partner: str, agents: dict) -> None:
    request = urllib.request.Request(
        f"{daphne_server.url}/api/webphone/tokens", data=json.dumps({"extension": "1004", "ttl": TTL_S}).encode(),
        headers={"Authorization": f"Api-Key {daphne_server.api_key}", "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        issued = json.loads(response.read())
    host = Host(browser, partner)
    refreshes: list[str] = []
    host.page.on("request", lambda r: refreshes.append(r.post_data or "") if r.url.endswith("/tokens/refresh") else None)
    try:
        info = host.js("([t, r]) => ZorioSoftphone.loginWithToken(t, r)", [issued["token"], issued["refresh_token"]])
        assert info["extension"] == "1004"
        host.frame.wait_for_function("() => window.zorioPhone && zorioPhone.status === 'registered'")
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        bob.js("phone.call('1004')")
        host.ui(".zorio-answer").wait_for()
        host.ui(".zorio-answer").click()
        bob.wait("phone.calls[0] && phone.calls[0].state === 'answered'")
        host.page.wait_for_timeout(WAIT_MS)
        presented = [json.loads(body)["refresh_token"] for body in refreshes]
        assert len(presented) >= RENEWALS and presented[0] == issued["refresh_token"], presented
        assert len(set(presented)) == len(presented), "each refresh token is presented once"
        assert host.frame.evaluate("zorioPhone.status") == "registered"
        assert host.frame.evaluate("zorioPhone.calls[0].state") == "answered"
        assert host.events("onLoggedOut") == []
        assert bob.energy() > SOUND
        bob.js("phone.calls[0].hangup()")
        host.frame.wait_for_function("() => zorioPhone.calls.every(c => c.state !== 'answered')")
    finally:
        host.close()
