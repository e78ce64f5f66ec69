"""Seed 001's call object against a live server, in Chromium: per-call events, `incoming`, the call's
parties and context, `activeCalls`/`getCall`, DTMF sent by the page itself with `insertDTMF` on
`call.peerConnection`, `reject('busy')` and `reject()`, a blocked microphone, and `connect()` that
fails after registering."""

import json
from typing import Any

import pytest

from tests.e2e.agent import SOUND, Agent

pytestmark = pytest.mark.e2e

RECORD_CALL_EVENTS = """(call) => {
  window.callEvents = [];
  for (const name of ["trying", "ringing", "answered", "held", "resumed", "muted", "unmuted", "dtmf", "recording", "ended"]) {
    call.on(name, (p) => callEvents.push([name, p.by || p.digit || p.reason || p.state || ""].filter(Boolean).join(":")));
  }
}"""


def deny_microphone(context: Any, page: Any, url: str) -> None:
    """The site's microphone permission set to "denied", as a user's "Block" leaves it (permissions.query says so)."""
    cdp = context.new_cdp_session(page)
    cdp.send("Browser.setPermission", {"permission": {"name": "microphone"}, "setting": "denied", "origin": url})


def test_seed_001_call_object_events_parties_and_insert_dtmf(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    bob.js(f"""window.incoming = null; phone.on('incoming', (call) => {{ window.incoming = call; ({RECORD_CALL_EVENTS})(call); }})""")
    # seed 001's shape: handlers attached when call() resolves still hear `trying`
    alice.js(f"""phone.call('1002', {{campaignId: 36, leadId: 'L-7', callerName: 'Acme sales'}})
      .then((call) => {{ window.out = call; ({RECORD_CALL_EVENTS})(call); }})""")
    alice.wait("window.out && out.id")
    bob.wait("window.incoming !== null")
    assert bob.js("[incoming.from, incoming.fromName, incoming.to, incoming.direction]") == ["1001", "Acme sales", "1002", "incoming"]
    assert alice.js("[out.from, out.to, out.direction, out.context.campaignId, out.context.leadId]") == ["1001", "1002", "outgoing", "36", "L-7"]
    assert bob.js("phone.activeCalls") == [{"id": bob.js("incoming.id"), "from": "1001", "to": "1002", "state": "ringing", "direction": "incoming"}]
    assert bob.js("phone.getCall(incoming.id) === incoming && phone.getCall(incoming.uuid) === incoming") is True
    bob.js("incoming.answer()")
    alice.wait("out.state === 'answered'")
    bob.wait("incoming.state === 'answered' && incoming.peerConnection !== null")
    assert alice.js("phone.activeCalls.map(c => c.state)") == ["active"]
    assert alice.energy() > SOUND and bob.energy() > SOUND

    # DTMF the page sends itself on the audio sender (RFC 4733): the far side gets the digit
    alice.js("out.peerConnection.getSenders().find(s => s.track && s.track.kind === 'audio').dtmf.insertDTMF('5', 120, 80)")
    bob.wait("callEvents.includes('dtmf:5')")

    alice.js("out.hold()")
    bob.wait("callEvents.includes('held:remote')")
    assert alice.js("phone.activeCalls.map(c => c.state)") == ["held"]
    alice.js("out.resume()")
    bob.wait("callEvents.includes('resumed:remote')")
    alice.js("out.mute()")
    alice.wait("out.isMuted === true")
    alice.js("out.unmute()")
    alice.wait("out.isMuted === false")
    bob.js("incoming.hangup()")
    alice.wait("callEvents.includes('ended:hangup')")
    bob.wait("callEvents.includes('ended:hangup')")

    # the bridge reports each digit to both parties
    assert alice.js("callEvents") == [
        "trying", "ringing", "answered", "dtmf:5", "held:local", "resumed:local", "muted", "unmuted", "ended:hangup"]
    assert bob.js("callEvents") == ["answered", "dtmf:5", "held:remote", "resumed:remote", "ended:hangup"]
    assert bob.js("phone.activeCalls") == []


@pytest.mark.parametrize(("how", "caller_reason"), [("'busy'", "busy"), ("", "rejected")])
def test_reject_busy_sends_486_and_reject_sends_603(browser: Any, daphne_server: Any, agents: dict, how: str,
                                                    caller_reason: str) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    bob.js("phone.on('incoming', (call) => { window.incoming = call; })")
    alice.js("phone.call('1002').then((call) => { window.out = call; })")
    bob.wait("window.incoming")
    bob.js(f"incoming.reject({how})")
    alice.wait("window.out && out.state !== 'originating' && out.state !== 'ringing'")
    assert alice.js("out.endReason") == caller_reason
    frames = bob.js("phone.debug.frames.filter(f => f.type === 'call.ended').map(f => f.reason)")
    assert frames == [caller_reason]


def test_answering_with_the_microphone_blocked_refuses_the_call_and_says_why(
        browser: Any, mic_blocked_browser: Any, daphne_server: Any, agents: dict, artifacts: Any) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(mic_blocked_browser, daphne_server.url, "1002")
    alice.js("phone.call('1002').then((call) => { window.out = call; })")
    bob.ui(".zorio-answer").wait_for()
    bob.ui(".zorio-answer").click()
    # the caller is told at once (486: busy), not after the ring timeout (no-answer)
    alice.wait("window.out && out.state === 'wrap_up' || (window.out && out.state === 'closed')")
    assert alice.js("out.endReason") == "busy"
    banner = bob.ui(".zorio-error")
    banner.wait_for()
    assert "blocks the microphone" in banner.inner_text() and "address bar" in banner.inner_text()
    assert "could not reach the server" not in banner.inner_text()
    bob.page.screenshot(path=str(artifacts / "sdk-microphone-denied-on-answer.png"))
    assert bob.js("phone.calls.filter(c => c.state !== 'closed' && c.state !== 'wrap_up').length") == 0


def test_a_blocked_microphone_is_named_at_connect(mic_blocked_browser: Any, daphne_server: Any, artifacts: Any) -> None:
    context = mic_blocked_browser.new_context()
    page = context.new_page()
    try:
        deny_microphone(context, page, daphne_server.url)
        page.goto(f"{daphne_server.url}/demo/?extension=1003&debug=1")
        page.wait_for_function("window.phone && phone.status === 'registered'", timeout=20000)
        page.locator("zorio-phone .zorio-launcher").click()
        banner = page.locator("zorio-phone .zorio-error")
        banner.wait_for()
        assert "blocks the microphone" in banner.inner_text()
        page.screenshot(path=str(artifacts / "sdk-microphone-denied-at-connect.png"))
        # placing a call says the same, not "could not reach the server"
        code = page.evaluate("phone.call('1001').then(() => 'placed', (e) => e.code)")
        assert code == "microphone_denied"
    finally:
        context.close()


def test_connect_failing_after_registering_leaves_no_socket_open(browser: Any, daphne_server: Any) -> None:
    context = browser.new_context(permissions=["microphone"])
    page = context.new_page()
    try:
        page.goto(f"{daphne_server.url}/demo/?extension=1004")
        page.wait_for_function("window.phone && phone.status === 'registered'", timeout=20000)
        result = page.evaluate("""async () => {
          const opened = [];
          class Tracked extends WebSocket { constructor(url) { super(url); opened.push(this); } }
          const r = await fetch('/demo/token?extension=1004').then(r => r.json());
          const outcome = await ZorioWebphone.connect({token: r.token, WebSocket: Tracked, mount: '#no-such-element'})
            .then(() => 'connected', (e) => e.code + ':' + e.details.stage);
          await new Promise((resolve) => setTimeout(resolve, 300));
          return {outcome, sockets: opened.length, states: opened.map(s => s.readyState)};
        }""")
    finally:
        context.close()
    assert result["outcome"] == "bootstrap_failed:mount", json.dumps(result)
    assert result["sockets"] == 1 and result["states"] == [3], result  # it had registered, and is closed
