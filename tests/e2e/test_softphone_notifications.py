"""A ringing call on a hidden softphone tab: a notification with Answer and Decline, through the
softphone's service worker (`/softphone/sw.js`), in Chromium against the live server.

What is driven: the softphone iframe (our origin) registers the real worker; the page is made hidden
(`document.hidden` emulated in every frame: headless Chromium keeps background tabs visible) and a
real call from another browser rings it; the notification is read back with
`registration.getNotifications()`. Then, inside the real service worker (Playwright's handle on it),
a `notificationclick` NotificationEvent carrying that very notification and the action is dispatched
to the worker's own listener: the path a click takes from there on is the product's (the worker
posts to the softphone page, which answers or declines). What cannot be driven here is the operating
system's notification centre itself: the click on its button that makes the browser fire the event.
"""

import time
from typing import Any

import pytest

from tests.e2e.agent import SOUND, Agent
from tests.e2e.partner import Host

pytestmark = pytest.mark.e2e

#: `document.hidden` under the test's control in each frame; plain `new Notification` calls counted.
HIDDEN_AND_PLAIN_SPY = """(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(Document.prototype, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
  window.zorioSetHidden = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
  const Real = window.Notification;
  window.plainNotices = 0;
  window.plainShown = [];
  if (Real) {
    window.Notification = class extends Real {
      constructor(t, o) { super(t, o); window.plainNotices += 1; window.plainShown.push({title: t, body: o && o.body, n: this}); }
      close() { this.closed = true; super.close(); }
    };
    Object.defineProperty(window.Notification, "permission", {get: () => Real.permission});
  }
})()"""

NOTIFICATIONS = """() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((shown) => shown.map(
  (n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data, actions: n.actions.map((a) => [a.action, a.title])})))"""

#: Run inside the service worker: its own listener gets the click on the call's notification.
CLICK = """(action) => registration.getNotifications().then((shown) => {
  self.dispatchEvent(new NotificationEvent("notificationclick", {notification: shown[0], action}));
  return shown.length;
})"""


def shown(host: Host, count: int, timeout_s: float = 10) -> list[dict]:
    """The worker registration's notifications once there are `count` (polled here: a page predicate
    returning a promise would count as true at once)."""
    deadline = time.monotonic() + timeout_s
    while len(notices := host.frame.evaluate(NOTIFICATIONS)) != count:
        assert time.monotonic() < deadline, f"{len(notices)} notifications, not {count}"
        time.sleep(0.1)
    return notices


def hidden_softphone(browser: Any, partner: str, token: str, service_workers: str = "allow") -> Host:
    host = Host(browser, partner, permissions=("microphone", "notifications"), init_scripts=(HIDDEN_AND_PLAIN_SPY,),
                service_workers=service_workers)
    host.login(token)
    if service_workers == "allow":
        assert host.frame.evaluate("navigator.serviceWorker.ready.then((r) => r.active.scriptURL)").endswith("/softphone/sw.js")
    for frame in (host.page, host.frame):
        frame.evaluate("zorioSetHidden(true)")
    return host


@pytest.fixture
def hidden(browser: Any, daphne_server: Any, partner: str, people: list) -> tuple[Host, Agent]:
    """The hidden softphone of 1001 and Bob (1002), who calls it."""
    bob = Agent(browser, daphne_server.url, "1002")
    host = hidden_softphone(browser, partner, daphne_server.token("1001"))
    people += [host, bob]
    return host, bob


def ring(host: Host, caller: Agent) -> dict:
    """The caller rings the hidden softphone: its one notification, the worker's, once shown."""
    caller.js("phone.call('1001')")
    host.frame.wait_for_function("() => zorioPhone.calls.some((c) => c.state === 'ringing')")
    [notice] = shown(host, 1)
    assert_worker_notice(host, notice)
    return notice


def worker(host: Host) -> Any:
    return next(w for w in host.context.service_workers if w.url.endswith("/softphone/sw.js"))


def assert_worker_notice(host: Host, notice: dict) -> None:
    call_id = host.frame.evaluate("zorioPhone.calls.find((c) => c.state === 'ringing').id")
    assert notice["title"] == "Incoming call from Bob" and notice["body"] == "1002"
    assert notice["actions"] == [["answer", "Answer"], ["decline", "Decline"]]
    assert notice["data"] == {"callId": call_id} and notice["tag"] == f"zorio-{call_id}"
    # the worker's notification is the only one: no plain one from the iframe nor from the loader's page
    assert host.page.evaluate("plainNotices") == 0 and host.frame.evaluate("plainNotices") == 0


def test_answer_from_the_notification_of_a_hidden_softphone(hidden: tuple[Host, Agent]) -> None:
    host, bob = hidden
    ring(host, bob)
    assert worker(host).evaluate(CLICK, "answer") == 1
    bob.wait("phone.calls[0].state === 'answered'")
    host.frame.wait_for_function("() => zorioPhone.calls[0].state === 'answered'")
    assert bob.energy() > SOUND  # the caller hears the softphone's microphone: a real answer, media and all
    assert shown(host, 0) == []  # closed by the click
    assert host.wait_event("onCallLocallyAnswered")[0]["number"] == "1002"
    bob.js("phone.calls[0].hangup()")
    host.wait_event("onCallEnded")


def test_a_plain_click_then_decline_from_the_notification(hidden: tuple[Host, Agent]) -> None:
    host, bob = hidden
    notice = ring(host, bob)
    call_id = notice["data"]["callId"]

    # a click on the notification itself (no button): the call is brought to the agent, Answer focused,
    # and it rings on (the agent decides)
    assert worker(host).evaluate(CLICK, "") == 1
    host.frame.wait_for_function(
        "() => (document.querySelector('zorio-phone').shadowRoot.activeElement || {dataset: {}}).dataset.k === "
        f"'answer-{call_id}'")
    assert host.frame.evaluate("zorioPhone.calls[0].state") == "ringing"
    assert bob.js("phone.calls[0].state") == "ringing"
    bob.js("phone.calls[0].hangup()")
    host.frame.wait_for_function("() => !zorioPhone.calls.some((c) => c.state === 'ringing')")

    # the next call: Decline on its notification ends the caller's call `rejected` (603)
    bob.wait("!phone.calls.some((c) => c.live)")
    second = ring(host, bob)
    assert second["tag"] != notice["tag"]
    assert worker(host).evaluate(CLICK, "decline") == 1
    # the caller's call leaves `ringing` before its call_hangup event is emitted: wait for the event
    bob.wait("zorioEvents.filter((e) => e.name === 'call_hangup').length === 2")
    assert bob.js("zorioEvents.filter((e) => e.name === 'call_hangup').map((e) => e.reason)") == ["cancelled", "rejected"]
    host.frame.wait_for_function("() => !zorioPhone.calls.some((c) => c.state === 'ringing')")
    assert shown(host, 0) == []
    assert host.wait_event("onCallRejected")[1] == "rejected"


def test_without_a_service_worker_the_host_page_shows_a_plain_notification(
        browser: Any, daphne_server: Any, partner: str, people: list) -> None:
    """Where the iframe cannot show its own (here: service workers blocked in the browser context), the
    loader on the partner's page shows a plain one, closed when the call stops ringing; a click on it
    brings the window and the softphone to the front."""
    bob = Agent(browser, daphne_server.url, "1002")
    host = hidden_softphone(browser, partner, daphne_server.token("1001"), service_workers="block")
    people += [host, bob]
    bob.js("phone.call('1001')")
    host.page.wait_for_function("plainShown.length === 1", timeout=10000)
    assert host.page.evaluate("plainShown.map((p) => [p.title, p.body])") == [["Incoming call from Bob", "1002"]]
    assert host.frame.evaluate("plainNotices") == 0
    host.js("ZorioSoftphone.hide()")
    host.page.evaluate("plainShown[0].n.dispatchEvent(new Event('click'))")
    assert host.js("ZorioSoftphone.visible") is True and host.page.evaluate("plainShown[0].n.closed") is True
    bob.js("phone.calls[0].hangup()")
    host.frame.wait_for_function("() => !zorioPhone.calls.some((c) => c.state === 'ringing')")
    bob.wait("!phone.calls.some((c) => c.live)")
    bob.js("phone.call('1001')")
    host.page.wait_for_function("plainShown.length === 2", timeout=10000)
    bob.js("phone.calls[0].hangup()")
    host.page.wait_for_function("plainShown[1].n.closed === true")  # the iframe said: no longer ringing
