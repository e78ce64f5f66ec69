"""The iframe softphone (docs/DESIGN.md §5b) in Chromium against the real server.

The partner page is served from another origin than the Zorio server (a second port of 127.0.0.1,
allowed by the demo tenant) and loads http://127.0.0.1:<daphne>/static/zorio/softphone.js. The other
parties are plain webphones (the /demo/ page) in their own browser contexts. A third origin
(127.0.0.2, not allowed) plays the attacker for the bridge's origin/source checks.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.partner import Host, Peer
from tests.live import manage

pytestmark = pytest.mark.e2e

SCHEMA = {
    "type": "object", "required": ["outcome"],
    "properties": {
        "customer": {"type": "string", "title": "Customer", "format": "autocomplete"},
        "outcome": {"type": "string", "title": "Outcome", "enum": ["Sale", "Follow-up"]},
        "amount": {"type": "number", "title": "Amount", "minimum": 0},
        "visits": {"type": "integer", "title": "Visits"},
        "callback": {"type": "boolean", "title": "Call back"},
        "notes": {"type": "string", "title": "Notes"},
    },
}
UI_SCHEMA = {"notes": {"ui:widget": "textarea"}}

def test_tel_link_call_callbacks_and_card_saved(browser: Any, daphne_server: Any, partner: str, people: list) -> None:
    host = Host(browser, partner)
    bob = Peer(browser, daphne_server.url, "1002")
    people += [host, bob]
    token = daphne_server.token("1001")
    info = host.login(token)
    assert info["extension"] == "1001" and info["tenant"] == "demo"
    assert host.wait_event("onAuthenticated")[0]["extension"] == "1001"
    host.js("([s, u]) => ZorioSoftphone.setFormSchema(s, u)", [SCHEMA, UI_SCHEMA])
    assert host.js("ZorioSoftphone.parseLinks()") == 2
    assert sorted(a[0] for a in host.events("onLinkEnabled")) == ["callto:1003", "tel:1002"]

    # a tel: link places the call through the softphone; the callee rings
    host.page.click("#bob")
    bob.wait("phone.calls.length === 1 && phone.calls[0].state === 'ringing'")
    assert bob.js("phone.calls[0].number") == "1001"
    made = host.wait_event("onOutgoingCallMade")[0]
    assert made["number"] == "1002" and made["direction"] == "outgoing" and made["uuid"]
    bob.js("phone.calls[0].answer()")
    established = host.wait_event("onCallEstablished")[0]
    assert established["uuid"] == made["uuid"] and established["state"] == "answered"
    assert not host.events("onCallLocallyAnswered")  # outgoing: answered by the other side

    # hold, mute, DTMF through the iframe's UI fire the host's callbacks
    host.ui("[data-k^=hold-]").click()
    assert host.wait_event("onCallHeld")[1] == "local"
    host.ui("[data-k^=hold-]").click()
    assert host.wait_event("onCallResumed")[1] == "local"
    host.ui("[data-k^=mute-]").click()
    assert host.wait_event("onCallMuted")[0]["muted"] is True
    host.ui("[data-k^=mute-]").click()
    host.wait_event("onCallUnMuted")
    host.ui("[data-k^=keypad-]").click()
    host.ui("[data-k=dtmf-5]").click()
    assert host.wait_event("onDtmfSent")[1] == "5"
    bob.wait("phone.debug.frames.some(f => f.type === 'call.dtmf_received' && f.digit === '5')")

    # the card: schema widgets, host-searched autocomplete, a value set by the host
    card = host.sp.locator(".zorio-card")
    card.wait_for()
    assert card.locator("textarea[data-field=notes]").count() == 1
    assert card.locator("input[data-field=visits][type=number][step='1']").count() == 1
    card.locator("select[data-field=outcome]").select_option(label="Sale")
    card.locator("input[data-field=amount]").fill("12.5")
    card.locator("input[data-field=callback]").check()
    card.locator("textarea[data-field=notes]").fill("Wants a quote")
    host.js("ZorioSoftphone.setCardValue('visits', 3)")
    card.locator("input[data-field=customer]").press_sequentially("glo")
    search = host.wait_event("onSearchOptions")
    assert search[0] == "customer" and search[2] == "1002"
    card.locator("[data-options-for=customer] li", has_text="Globex").click()
    assert card.locator("input[data-field=customer]").input_value() == "Globex"

    bob.js("phone.calls[0].hangup()")
    call, values, direction = host.wait_event("onCallEnded")
    assert direction == "outgoing" and call["endReason"] == "hangup"
    assert values["outcome"] == "Sale" and values["customer"] == "cust-2" and values["visits"] == 3
    assert card.locator(".zorio-card-countdown").is_hidden()  # edited: no wrap-up countdown
    card.locator(".zorio-card-save").click()
    saved_call, saved, extra = host.wait_event("onCardSaved")
    expected = {"customer": "cust-2", "outcome": "Sale", "amount": 12.5, "visits": 3, "callback": True,
                "notes": "Wants a quote"}
    assert saved == expected and extra["record"]["card"] == expected
    card.wait_for(state="detached")
    records = daphne_server.get_json("/api/webphone/calls", token)["results"]
    record = next(r for r in records if r["uuid"] == made["uuid"])
    assert record["card"] == expected


def test_incoming_call_answer_blind_transfer_and_card_cancel(browser: Any, daphne_server: Any, partner: str,
                                                            people: list) -> None:
    host = Host(browser, partner)
    bob = Peer(browser, daphne_server.url, "1002")
    carol = Peer(browser, daphne_server.url, "1003")
    people += [host, bob, carol]
    host.login(daphne_server.token("1001"))
    host.js("([s, u]) => ZorioSoftphone.setFormSchema(s, u)", [SCHEMA, UI_SCHEMA])

    bob.js("phone.call('1001').then(() => true)")
    incoming = host.wait_event("onCallIncoming")[0]
    assert incoming["number"] == "1002" and incoming["direction"] == "incoming" and incoming["state"] == "ringing"
    host.js("ZorioSoftphone.setCardValue('notes', 'pre-filled by the CRM')")
    host.ui(".zorio-answer").click()
    host.wait_event("onCallEstablished")
    order = [e["name"] for e in host.js("events") if e["name"] in ("onCallLocallyAnswered", "onCallEstablished")]
    assert order == ["onCallLocallyAnswered", "onCallEstablished"]
    card = host.sp.locator(".zorio-card")
    assert card.locator("textarea[data-field=notes]").input_value() == "pre-filled by the CRM"

    host.ui("[data-k^=transfer-]").click()
    host.ui("[data-k=transfer-target]").fill("1003")
    host.ui("[data-k=blind]").click()
    assert host.wait_event("onDirectTransfer")[1] == "1003"
    call, _values, direction = host.wait_event("onCallEnded")
    assert call["endReason"] == "transferred" and direction == "incoming"
    carol.wait("phone.calls.length === 1 && phone.calls[0].state === 'ringing'")
    assert carol.js("phone.calls[0].number") == "1002"

    # not edited: the wrap-up countdown runs; Cancel fires onCardCanceled
    card.locator(".zorio-card-countdown").wait_for()
    assert "Closes in" in card.locator(".zorio-card-countdown").inner_text()
    card.locator(".zorio-card-cancel").click()
    canceled = host.wait_event("onCardCanceled")
    assert canceled[0]["uuid"] == incoming["uuid"] and canceled[2] == {"reason": "cancel"}
    assert canceled[1]["notes"] == "pre-filled by the CRM"
    carol.js("phone.calls[0].hangup()")


def test_rejected_call_and_wrap_up_expiry(browser: Any, daphne_server: Any, partner: str, people: list) -> None:
    host = Host(browser, partner, "?wrapup=2")
    bob = Peer(browser, daphne_server.url, "1002")
    people += [host, bob]
    host.login(daphne_server.token("1001"))
    host.js("s => ZorioSoftphone.setFormSchema(s)", SCHEMA)

    bob.js("phone.call('1001').then(() => true)")
    host.wait_event("onCallIncoming")
    host.ui(".zorio-reject").click()
    call, reason = host.wait_event("onCallRejected")
    assert reason == "rejected" and call["direction"] == "incoming"
    assert host.wait_event("onCallEnded")[1] is None  # never established: no card
    bob.wait("phone.calls.length === 0 || phone.calls[0].state !== 'ringing'")

    # an untouched card closes by itself after wrapUpDuration
    host.js("ZorioSoftphone.makeCall('1002').then(() => true)")
    bob.wait("phone.calls.length === 1 && phone.calls[0].state === 'ringing'")
    bob.js("phone.calls[0].answer()")
    host.wait_event("onCallEstablished")
    host.sp.locator(".zorio-card").wait_for()
    bob.js("phone.calls[0].hangup()")
    host.wait_event("onCallEnded", count=2)
    assert host.wait_event("onCardCanceled", timeout=8000)[2] == {"reason": "wrap_up_expired"}
    host.sp.locator(".zorio-card").wait_for(state="detached")


def test_messages_from_wrong_origins_or_sources_are_ignored_both_ways(browser: Any, daphne_server: Any,
                                                                       partner: str, people: list) -> None:
    host = Host(browser, partner)
    people.append(host)
    host.login(daphne_server.token("1001"))
    before = len(host.js("events"))
    # the attacker's frame (127.0.0.2) posts a call request to the softphone and fake events to the host
    host.page.frame_locator("#evil").locator("body").wait_for(state="attached")
    host.js("document.getElementById('evil').contentWindow.postMessage('attack', '*')")
    # a same-origin script that is not the iframe's parent (the host's own window) tries too
    host.js("""() => {
      const env = (type, payload) => ({zorio: {v: 1, type, id: "y1", payload}});
      window.postMessage(env("event", {name: "onCallIncoming", args: [{number: "777"}]}), "*");
      const sp = document.querySelector("iframe.zorio-softphone").contentWindow;
      const child = document.createElement("iframe");
      document.body.append(child);
      child.contentWindow.eval("(" + ((target, origin) => {
        target.postMessage({zorio: {v: 1, type: "call", id: "z1", payload: {number: "*44"}}}, origin);
      }).toString() + ")")(sp, new URL(sp === null ? location.href : document.querySelector("iframe.zorio-softphone").src).origin);
    }""")
    host.page.wait_for_function("window.attacked === true")
    host.frame.wait_for_function("() => zorioIgnored.length >= 2")
    host.page.wait_for_timeout(1000)
    evil_origin = "http://127.0.0.2:" + host.page.frame_locator("#evil").locator("body").evaluate("() => location.port")
    ignored = host.frame.evaluate("zorioIgnored")
    assert evil_origin in ignored  # wrong origin (and not the parent)
    assert host.page.evaluate("location.origin") in ignored  # right origin, wrong source
    assert sorted(set(host.js("foreign"))) == sorted({evil_origin, host.page.evaluate("location.origin")})
    assert host.frame.evaluate("zorioPhone.calls.length") == 0
    names = [e["name"] for e in host.js("events")[before:]]
    assert "onCallIncoming" not in names and "onOutgoingCallMade" not in names
    assert names.count("onIFrameLoaded") == 0

    # the real parent still gets through
    call = host.js("ZorioSoftphone.makeCall('*43')")
    assert call["number"] == "*43"
    host.frame.wait_for_function("() => zorioPhone.calls.length === 1 && zorioPhone.calls[0].state === 'answered'")
    host.frame.evaluate("zorioPhone.calls[0].hangup()")


def test_softphone_page_refuses_origins_not_allowed(browser: Any, daphne_server: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{daphne_server.url}/softphone/?tenant=demo&origin=https://evil.example")
        # not framed at all: the bridge stays closed
        page.wait_for_function("document.body.dataset.status === 'not_allowed'")
        response = page.request.get(f"{daphne_server.url}/softphone/?tenant=demo")
        assert "frame-ancestors http://127.0.0.1:* http://localhost:*" in response.headers["content-security-policy"].split("; ")
        assert "x-frame-options" not in response.headers
    finally:
        context.close()


def test_display_links_and_remove(browser: Any, daphne_server: Any, partner: str, people: list) -> None:
    host = Host(browser, partner)
    people.append(host)
    iframe = host.page.locator("iframe.zorio-softphone")
    assert iframe.get_attribute("allow") == "microphone; autoplay; speaker-selection"
    assert iframe.is_visible() and host.js("ZorioSoftphone.visible") is True
    host.js("ZorioSoftphone.hide()")
    assert iframe.is_hidden()
    host.js("ZorioSoftphone.show()")
    assert iframe.is_visible()
    assert host.js("ZorioSoftphone.toggleDisplay()") is False and iframe.is_hidden()
    assert host.js("ZorioSoftphone.toggleDisplay()") is True and iframe.is_visible()
    host.page.set_viewport_size({"width": 1280, "height": 900})
    box = iframe.bounding_box()
    assert round(box["width"]) == 820 and round(box["height"]) == 700
    # on a 375 px phone the iframe shrinks to the screen instead of being cut
    host.page.set_viewport_size({"width": 375, "height": 667})
    box = iframe.bounding_box()
    assert round(box["width"]) == 375 - 32 and round(box["height"]) == 667 - 32
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    host.page.set_viewport_size({"width": 1280, "height": 900})

    original = host.js("document.getElementById('contacts').outerHTML")
    assert host.js("ZorioSoftphone.parseLinks()") == 2
    assert host.page.locator("a.zorio-link[data-zorio-link]").count() == 2
    host.js("""() => { const li = document.createElement('li');
      li.innerHTML = '<a id="dave" href="tel:+84%20(90)%20123-4567">Dave</a>';
      document.getElementById('contacts').append(li); }""")
    host.page.wait_for_function("document.getElementById('dave').hasAttribute('data-zorio-link')")
    assert "tel:+84%20(90)%20123-4567" in [a[0] for a in host.events("onLinkEnabled")]
    host.js("document.getElementById('dave').parentElement.remove()")
    host.js("ZorioSoftphone.removeParsedLinksEvent()")
    assert host.js("document.getElementById('contacts').outerHTML") == original
    assert host.page.locator("[data-zorio-link]").count() == 0

    host.js("ZorioSoftphone.parseLinks()")
    host.js("ZorioSoftphone.remove()")
    assert host.page.locator("iframe.zorio-softphone").count() == 0
    assert host.js("ZorioSoftphone.iframe") is None and host.js("ZorioSoftphone.visible") is False
    assert host.js("document.getElementById('contacts').outerHTML") == original
    error = host.js("ZorioSoftphone.makeCall('1002').then(() => 'ok', (e) => e.code)")
    assert error == "not_initialized"
    # the global is never overwritten; init works again after remove
    assert host.js("(() => { try { window.ZorioSoftphone = 1 } catch (e) {} return typeof ZorioSoftphone.init })()") == "function"
    # init({token}) logs in as soon as the new iframe is ready; logout() fires onLoggedOut
    host.js("([url, token]) => { ZorioSoftphone.init({server: url, tenantId: 'demo', token, debug: true}); }",
            [daphne_server.url, daphne_server.token("1004")])
    host.wait_event("onIFrameLoaded", count=2)
    assert host.wait_event("onAuthenticated")[0]["extension"] == "1004"
    host.js("ZorioSoftphone.logout()")
    assert host.wait_event("onLoggedOut")[0] == {"reason": "logout"}


def _set_demo_theme(server: Any, primary: str, mode: str) -> None:
    manage(server, "shell", "-c",
           "from zorio_widget.tenants.models import Theme; Theme.objects.filter(tenant__slug='demo', is_default=True)"
           f".update(primary_color={primary!r}, mode={mode!r})")


@pytest.fixture
def purple_admin_theme(daphne_server: Any) -> Iterator[None]:
    _set_demo_theme(daphne_server, "#7c3aed", "light")
    yield
    _set_demo_theme(daphne_server, "#2563eb", "auto")  # the seeded theme, for the other tests


def test_admin_theme_is_the_default_and_customize_appearance_wins(browser: Any, daphne_server: Any, partner: str,
                                                                  people: list, purple_admin_theme: None) -> None:
    host = Host(browser, partner)
    people.append(host)
    host.login(daphne_server.token("1001"))
    header = host.ui("header")
    header.wait_for()
    colour = "el => getComputedStyle(el).backgroundColor"
    assert header.evaluate(colour) == "rgb(124, 58, 237)"  # the admin theme
    host.js("""ZorioSoftphone.customizeAppearance(
      {primaryColor: 'rgb(255, 0, 0)', accentColor: '#00ff00', fontFamily: 'monospace', borderRadius: '2px'},
      {call: 'Dial now', card_save: 'Store'}, {logoUrl: 'data:image/gif;base64,R0lGODlhAQABAAAAACw='})""")
    host.page.wait_for_function("1")
    assert header.evaluate(colour) == "rgb(255, 0, 0)"
    go = host.ui(".zorio-go")
    assert go.evaluate(colour) == "rgb(0, 255, 0)"
    assert go.inner_text().endswith("Dial now")
    assert go.evaluate("el => getComputedStyle(el).borderRadius") == "2px"
    assert host.ui("header img").count() == 1
    host.js("ZorioSoftphone.injectCss('zorio-phone{outline:3px solid rgb(1, 2, 3)} .zorio-panel header{color: rgb(4, 5, 6)}')")
    assert header.evaluate("el => getComputedStyle(el).color") == "rgb(4, 5, 6)"
    assert host.sp.locator("zorio-phone").evaluate("el => getComputedStyle(el).outlineColor") == "rgb(1, 2, 3)"


def test_demo_iframe_page_calls_through_its_links(browser: Any, daphne_server: Any) -> None:
    context = browser.new_context(permissions=["microphone"])
    try:
        page = context.new_page()
        page.goto(f"{daphne_server.url}/demo/iframe/?extension=1001&debug=1")
        page.wait_for_function("document.getElementById('log').textContent.includes('signed in as 1001')",
                               timeout=20000)
        assert page.locator("a.zorio-link").count() == 6
        page.click("text=Add a contact")
        page.wait_for_function("document.querySelectorAll('a.zorio-link').length === 7")
        page.click("a[href='tel:*43']")
        page.wait_for_function("document.getElementById('log').textContent.includes('onCallEstablished *43')")
        frame = next(f for f in page.frames if "/softphone/" in f.url)
        assert frame.evaluate("zorioPhone.calls[0].number") == "*43"
        page.frame_locator("iframe.zorio-softphone").locator(".zorio-card").wait_for()
        frame.evaluate("zorioPhone.calls[0].hangup()")
        page.wait_for_function("document.getElementById('log').textContent.includes('onCallEnded')")
    finally:
        context.close()
