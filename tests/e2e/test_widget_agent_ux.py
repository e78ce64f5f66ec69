"""The agent walkthrough's UI items, in Chromium on the demo page against a live server, with real calls:
the widget above host content and on a 375 px screen, the overlay that leaves the page usable during a
call, the launcher with live calls, the system notification of a ringing call nobody sees, who is on the
line (names, campaign context, header state, hold timer), call history with missed calls and call
back, the connection lost and found again, keyboard and screen-reader behaviour, and a partner page
with a strict CSP."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.a11y import check, shoot
from tests.e2e.agent import HELPERS, SOUND, Agent, console_of, wait_for_console
from tests.e2e.test_calls_live_edges import CuttableProxy

pytestmark = pytest.mark.e2e

AT_POINT = """([x, y]) => { const el = document.elementFromPoint(x, y); return el ? el.tagName.toLowerCase() : null; }"""
SHADOW_AT = """([x, y]) => { const host = document.querySelector('zorio-phone');
  const el = host.shadowRoot.elementFromPoint(x, y); return el ? (el.closest('[data-k]') || el).getAttribute('data-k') : null; }"""
FOCUSED = "() => { const a = document.querySelector('zorio-phone').shadowRoot.activeElement; return a ? a.getAttribute('data-k') : null; }"


def center(locator: Any) -> list[float]:
    box = locator.bounding_box()
    assert box is not None
    return [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]


def test_the_widget_is_above_host_content_and_fits_a_375px_screen(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    # a partner's sticky banner over the bottom of the page (z-index 10) and a positioned sidebar
    alice.js("""() => { const b = document.createElement('div'); b.id = 'banner';
      b.style.cssText = 'position:fixed;left:0;right:0;bottom:0;height:300px;background:#fde68a;z-index:10';
      document.body.append(b); }""")
    alice.ui(".zorio-launcher").click()
    call_button = alice.ui("[data-k=call]")
    call_button.wait_for()
    assert alice.page.evaluate(AT_POINT, center(call_button)) == "zorio-phone"
    assert alice.page.evaluate(SHADOW_AT, center(call_button)) == "call"
    # the Call button: wide, centred, an icon and its label
    box = call_button.bounding_box()
    panel = alice.ui(".zorio-panel").bounding_box()
    assert box["width"] > panel["width"] * 0.8
    assert call_button.locator("svg").count() == 1 and call_button.inner_text() == "Call"
    alice.page.set_viewport_size({"width": 375, "height": 667})
    panel = alice.ui(".zorio-panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 375 and panel["y"] >= 0
    shoot(alice.page, "widget-375px")


def test_the_overlay_is_modal_when_idle_and_leaves_the_page_usable_during_a_call(browser: Any, daphne_server: Any,
                                                                                agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001", layout="overlay")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    alice.ui(".zorio-launcher").click()
    alice.ui("[data-k=call]").wait_for()
    corner = [5, 120]
    assert alice.page.evaluate(AT_POINT, corner) == "zorio-phone"  # idle: the backdrop catches the page
    # Tab stays inside the dialog
    for _ in range(25):
        alice.page.keyboard.press("Tab")
        assert alice.page.evaluate("() => document.activeElement.tagName.toLowerCase()") == "zorio-phone"
    alice.js("phone.call('1002')")
    bob.ui(".zorio-answer").click()
    alice.wait("phone.calls[0].state === 'answered'")
    # during the call the page's own controls work
    page_button = alice.page.locator("#diagnose")
    assert alice.page.evaluate(AT_POINT, center(page_button)) == "button"
    page_button.click()
    alice.page.wait_for_function("document.getElementById('log').textContent.includes('diagnose')")
    shoot(alice.page, "widget-overlay-in-call")


def test_the_launcher_shows_live_calls_and_a_ringing_call(browser: Any, daphne_server: Any, agents: dict,
                                                         artifacts: Any) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    alice.js("phone.call('1002')")
    bob.ui(".zorio-answer").click()
    alice.wait("phone.calls[0].state === 'answered'")
    alice.ui("[data-k=min]").click()
    launcher = alice.ui(".zorio-launcher")
    launcher.wait_for()
    assert launcher.get_attribute("data-live") == "call"
    assert launcher.get_attribute("aria-label") == "Open phone: 1 call(s)"
    assert alice.ui(".zorio-launcher .zorio-badge").inner_text() == "1"
    first = alice.ui(".zorio-launcher .zorio-timer").inner_text()
    alice.page.wait_for_timeout(2100)
    assert alice.ui(".zorio-launcher .zorio-timer").inner_text() != first
    shoot(alice.page, "widget-launcher-live-call")
    alice.js("phone.calls[0].hangup()")
    bob.wait("phone.calls[0].state === 'wrap_up'")
    # minimised again, and ringing: the launcher pulses (the panel opens on its own, as a call arrives)
    alice.js("phone.calls.forEach(c => c.close())")
    assert alice.ui(".zorio-launcher").get_attribute("data-live") is None  # idle again
    bob.js("phone.calls.forEach(c => c.close()); phone.call('1001')")
    alice.ui(".zorio-incoming").wait_for()
    alice.ui("[data-k=min]").click()
    assert alice.ui(".zorio-launcher").get_attribute("data-live") == "ringing"
    shoot(alice.page, "widget-launcher-ringing")  # (the live server's ring timeout ends the call)


NOTIFICATION_SPY = """(() => {
  const Real = window.Notification;
  window.notices = [];
  window.Notification = class extends Real {
    constructor(title, options) {
    super(title, options);
    window.notices.push({title, body: options && options.body, n: this});
    console.log("zorio-notice:" + title + "|" + (options && options.body));
  }
  };
  Object.defineProperty(window.Notification, 'permission', {get: () => Real.permission});
  window.Notification.requestPermission = Real.requestPermission.bind(Real);
})()"""


def test_a_ringing_call_nobody_can_see_or_hear_raises_a_system_notification(
        strict_autoplay_browser: Any, browser: Any, daphne_server: Any, agents: dict) -> None:
    # the strict autoplay policy blocks the ringtone of a call that comes before any click: real
    context = strict_autoplay_browser.new_context(permissions=["microphone", "notifications"])
    context.add_init_script(path=str(HELPERS))
    context.add_init_script(NOTIFICATION_SPY)
    page = context.new_page()
    try:
        # Playwright's evaluate and polling count as user gestures: until the call, the test only listens
        console = console_of(page)
        page.goto(f"{daphne_server.url}/demo/?extension=1003&debug=1")
        wait_for_console(page, console, lambda line: "connecting -> registered" in line)
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        bob.js("phone.call('1003')")
        notice = wait_for_console(page, console, lambda line: line.startswith("zorio-notice:"))
        assert notice == "zorio-notice:Incoming call from Bob|1002"
        assert page.evaluate("phone.audioBlocked") is True
        # a click on the notification brings the call to the agent, Answer focused
        page.evaluate("notices[0].n.dispatchEvent(new Event('click'))")
        page.wait_for_function(f"({FOCUSED})() && ({FOCUSED})().startsWith('answer-')")
        bob.js("phone.calls[0].hangup()")
        page.wait_for_function("!phone.calls.some(c => c.state === 'ringing')")
    finally:
        context.close()


def test_who_is_on_the_line_campaign_context_header_state_and_hold_timer(browser: Any, daphne_server: Any,
                                                                        agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    alice.js("phone.call('1002', {campaignId: 36, leadId: 'L-7', callerName: 'Acme sales'})")
    bob.ui(".zorio-answer").wait_for()
    # the callee sees the campaign and lead the call was placed with (from the call record)
    bob.wait("phone.calls[0].context.campaignId === '36'")
    incoming = bob.ui(".zorio-incoming").inner_text()
    assert "Campaign 36" in incoming and "Lead L-7" in incoming
    bob.ui(".zorio-answer").click()
    alice.wait("phone.calls[0].state === 'answered'")
    # the caller sees the called party's name, not only digits
    alice.wait("phone.calls[0].name === 'Bob'")
    assert alice.ui(".zorio-active .zorio-peer").inner_text() == "Bob"
    assert alice.ui("header .zorio-status").inner_text() == "In call"
    alice.ui("[data-k^=hold-]").click()
    alice.wait("phone.calls[0].onHold")
    assert alice.ui("header .zorio-status").inner_text() == "On hold"
    bob.wait("phone.calls[0].remoteHold")
    held = bob.ui(".zorio-held")
    held.wait_for()
    assert "The other party put the call on hold" in held.inner_text()
    first = held.locator(".zorio-timer").inner_text()
    bob.page.wait_for_timeout(2100)
    assert held.locator(".zorio-timer").inner_text() != first
    assert bob.energy() > SOUND  # music on hold
    alice.ui("[data-k^=hold-]").click()
    alice.wait("!phone.calls[0].onHold")
    assert alice.ui("header .zorio-status").inner_text() == "In call"
    alice.ui("[data-k^=hangup-]").click()
    alice.wait("phone.calls[0].state === 'wrap_up'")


def test_call_history_with_missed_calls_and_call_back(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    # a call nobody answers (the live server rings for 3 s): missed for Bob
    alice.js("phone.call('1002')")
    bob.ui(".zorio-answer").wait_for()
    alice.wait("zorioEvents.some(e => e.name === 'call_hangup' && e.reason === 'no-answer')", timeout=15000)
    bob.wait("phone.calls.every(c => c.state !== 'ringing')")
    bob.ui("[data-k=nav-history]").click()
    missed = bob.ui(".zorio-history li[data-missed]").first
    missed.wait_for()
    assert "Alice" in missed.inner_text() and "Missed" in missed.inner_text()
    shoot(bob.page, "widget-history-missed")
    # call back from the history
    missed.locator("[data-k^=redial-]").click()
    alice.ui(".zorio-answer").wait_for()
    assert alice.js("phone.calls.find(c => c.state === 'ringing').number") == "1002"
    alice.ui(".zorio-answer").click()
    bob.wait("phone.calls.some(c => c.state === 'answered' && c.number === '1001')")
    bob.js("phone.calls.find(c => c.state === 'answered').hangup()")


def test_connection_lost_and_found_again_during_a_call(browser: Any, daphne_server: Any, agents: dict) -> None:
    port = int(daphne_server.url.rsplit(":", 1)[1])
    proxy = CuttableProxy(port)
    try:
        alice = agents["alice"] = Agent(browser, f"http://127.0.0.1:{proxy.port}", "1001")
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        alice.js("phone.call('1002')")
        bob.ui(".zorio-answer").click()
        alice.wait("phone.calls[0].state === 'answered'")
        # the page keeps trying during the cut, and the card says the call is waiting for the connection
        alice.js("""() => { window.staleSeen = false; const host = document.querySelector('zorio-phone');
          new MutationObserver(() => { if (host.shadowRoot.querySelector('.zorio-call[data-stale]')) window.staleSeen = true; })
            .observe(host.shadowRoot, {subtree: true, childList: true, attributes: true}); }""")
        proxy.cut()
        alice.wait("window.staleSeen === true")
        alice.wait("phone.status === 'registered' && !document.querySelector('zorio-phone').shadowRoot.querySelector('[data-stale]')")
        assert alice.js("phone.calls[0].state") == "answered"
        assert not alice.ui("[data-k^=hold-]").is_disabled()
    finally:
        proxy.close()


def test_keyboard_focus_announcements_dtmf_and_enter_to_transfer(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    carol = agents["carol"] = Agent(browser, daphne_server.url, "1003")
    alice.ui(".zorio-launcher").focus()
    alice.page.keyboard.press("Enter")
    alice.page.wait_for_function(f"({FOCUSED})() === 'dial'")  # the launcher hands focus to the number
    alice.page.keyboard.type("1002")
    alice.page.keyboard.press("Enter")
    alice.page.wait_for_function(f"(({FOCUSED})() || '').startsWith('hangup-')")  # and placing the call to Hang up
    # the callee hears of the call (aria-live), Answer is focused, Enter answers
    bob.page.wait_for_function("document.querySelector('zorio-phone').shadowRoot.querySelector('[aria-live]').textContent"
                               " === 'Incoming call from Alice'")
    bob.page.wait_for_function(f"(({FOCUSED})() || '').startsWith('answer-')")
    bob.page.keyboard.press("Enter")
    bob.wait("phone.calls[0].state === 'answered'")
    bob.page.wait_for_function(f"(({FOCUSED})() || '').startsWith('hangup-')")
    alice.wait("phone.calls[0].state === 'answered'")
    # typed digits go to the call as DTMF (focus on the card, not in a field)
    bob.page.keyboard.press("4")
    alice.wait("phone.debug.frames.some(f => f.type === 'call.dtmf_received' && f.digit === '4')")
    # the header's focus ring shows on its coloured background
    outline = alice.ui("[data-k=nav-history]").evaluate(
        "el => { el.focus(); const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }")
    assert outline == ["solid", "3px", "rgb(255, 255, 255)"]
    # Enter in the transfer field transfers
    bob.ui("[data-k^=transfer-]").click()
    field = bob.ui("[data-k=transfer-target]")
    field.wait_for()
    bob.page.wait_for_function(f"({FOCUSED})() === 'transfer-target'")
    field.fill("1003")
    field.press("Enter")
    carol.ui(".zorio-answer").wait_for()
    assert bob.js("phone.calls[0].endReason") == "transferred"
    carol.ui(".zorio-answer").click()
    alice.wait("phone.calls[0].state === 'answered' && phone.calls[0].name === 'Carol'", timeout=30000)


class _Partner(BaseHTTPRequestHandler):
    page = ""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", self.server.policy)  # type: ignore[attr-defined]
        self.end_headers()
        self.wfile.write(self.page.encode())


STRICT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Strict CRM</title></head><body>
<main><h1>Strict CRM</h1></main>
<script nonce="n0nce" src="SERVER/static/zorio/webphone.js"></script>
<script nonce="n0nce">
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective + " " + e.blockedURI));
ZorioWebphone.connect({apiBase: "SERVER", token: "TOKEN", mount: document.body, debug: true}).then((p) => { window.phone = p; });
</script></body></html>"""


@pytest.fixture
def strict_partner(daphne_server: Any) -> Iterator[str]:
    server_url = daphne_server.url
    ws = server_url.replace("http://", "ws://")
    page = STRICT_PAGE.replace("SERVER", server_url).replace("TOKEN", daphne_server.token("1004"))
    handler = type("Strict", (_Partner,), {"page": page})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # what README.md tells a partner with a strict policy to allow: no 'unsafe-inline' styles, scripts by nonce
    httpd.policy = (f"default-src 'self'; script-src 'nonce-n0nce' {server_url}; style-src 'self'; "  # type: ignore[attr-defined]
                    f"connect-src 'self' {server_url} {ws}; media-src 'self' {server_url} blob:; img-src 'self' {server_url} data:")
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/crm"
    httpd.shutdown()


def test_a_partner_page_with_a_strict_csp_shows_the_styled_widget(browser: Any, daphne_server: Any, strict_partner: str) -> None:
    context = browser.new_context(permissions=["microphone"])
    page = context.new_page()
    try:
        page.goto(strict_partner)
        page.wait_for_function("() => window.phone && phone.status === 'registered'", timeout=20000)
        page.locator("zorio-phone .zorio-launcher").click()
        header = page.locator("zorio-phone header")
        header.wait_for()
        assert header.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(37, 99, 235)"
        assert page.locator("zorio-phone").evaluate("el => getComputedStyle(el).position") == "fixed"
        assert page.evaluate("violations") == [], json.dumps(page.evaluate("violations"))
        check(page, "widget-strict-csp")
    finally:
        context.close()
