"""The widget against an in-page fake signalling server (real WebRTC media, no Django).

These cover the SDK's state machine, events, errors and UI without depending on the server's call
flow; tests/e2e/test_calls_live.py runs the same flows against the real server.
"""

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def events(page: Any) -> list[str]:
    return [e["name"] for e in page.evaluate("zorioEvents")]


def wait_state(page: Any, state: str, index: int = 0) -> None:
    page.wait_for_function(f"window.phone.calls[{index}] && window.phone.calls[{index}].state === {state!r}")


def test_outgoing_call_states_events_and_audio(fake_page: Any) -> None:
    assert fake_page.evaluate("start()") == "registered"
    fake_page.evaluate("window.c = null; phone.call('1002').then(c => window.c = c)")
    fake_page.wait_for_function("window.c")
    wait_state(fake_page, "answered")
    assert fake_page.evaluate("c.id") == "c1"
    fake_page.wait_for_function("c.debug.remoteStream !== null")
    assert fake_page.evaluate("zorioRemoteEnergy(800)") > 0.01
    fake_page.evaluate("c.hold()")
    assert fake_page.evaluate("c.onHold") is True
    fake_page.evaluate("c.unhold()")
    fake_page.evaluate("c.mute()")
    assert fake_page.evaluate("c.muted") is True
    assert fake_page.evaluate("c.debug.localStream.getAudioTracks()[0].enabled") is False
    fake_page.evaluate("c.unmute()")
    fake_page.evaluate("c.sendDtmf('12#')")
    assert [f["digits"] for f in fake_page.evaluate("fake.sent") if f["type"] == "call.dtmf"] == ["12#"]
    fake_page.evaluate("c.hangup()")
    assert fake_page.evaluate("c.state") == "wrap_up"
    assert fake_page.evaluate("c.endReason") == "hangup"
    fake_page.evaluate("c.close()")
    assert fake_page.evaluate("c.state") == "closed"
    assert fake_page.evaluate("phone.calls.length") == 0
    # connect() resolves once registered, so the recorder attached after `registered` was emitted.
    assert events(fake_page) == [
        "call_ringing", "call_answered", "call_held", "call_resumed", "muted", "unmuted", "call_hangup",
    ]
    assert fake_page.evaluate("c.debug.transitions") == [
        "originating -> ringing", "ringing -> answered", "answered -> wrap_up", "wrap_up -> closed",
    ]


def test_incoming_call_answered_through_the_ui(fake_page: Any) -> None:
    fake_page.evaluate("start()")
    fake_page.evaluate("fake.incoming('1002', 'Bob')")
    card = fake_page.locator("zorio-phone .zorio-incoming")
    card.wait_for()
    assert "Bob" in card.inner_text()
    assert fake_page.evaluate("phone.calls[0].direction") == "incoming"
    assert fake_page.evaluate("phone.calls[0].state") == "ringing"
    fake_page.locator("zorio-phone .zorio-answer").click()
    wait_state(fake_page, "answered")
    fake_page.wait_for_function("phone.calls[0].debug.remoteStream !== null")
    assert fake_page.evaluate("zorioRemoteEnergy(800)") > 0.01
    # in-call controls: mute, hold, keypad (DTMF), hang up
    fake_page.locator("zorio-phone [data-k^=mute-]").click()
    fake_page.wait_for_function("phone.calls[0].muted")
    assert fake_page.locator("zorio-phone [data-k^=mute-]").get_attribute("aria-pressed") == "true"
    fake_page.locator("zorio-phone [data-k^=keypad-]").click()
    fake_page.locator("zorio-phone [data-k=dtmf-5]").click()
    fake_page.wait_for_function("fake.sent.some(f => f.type === 'call.dtmf' && f.digits === '5')")
    assert fake_page.locator("zorio-phone .zorio-timer").inner_text().startswith("00:0")
    fake_page.locator("zorio-phone .zorio-hangup").click()
    fake_page.locator("zorio-phone .zorio-wrap").wait_for()
    assert fake_page.evaluate("phone.calls[0].state") == "wrap_up"
    fake_page.locator("zorio-phone .zorio-wrap button").click()
    fake_page.wait_for_function("phone.calls.length === 0")
    assert events(fake_page) == ["incoming_call", "call_answered", "muted", "call_hangup"]


def test_reject_and_not_incoming(fake_page: Any) -> None:
    fake_page.evaluate("start()")
    fake_page.evaluate("phone.call('1002').then(c => window.c = c)")
    fake_page.wait_for_function("window.c && c.state === 'answered'")
    assert fake_page.evaluate("c.answer().catch(e => e.code)") == "not_incoming"
    assert fake_page.evaluate("c.reject().catch(e => e.code)") == "not_incoming"
    fake_page.evaluate("c.hangup()")
    fake_page.evaluate("fake.incoming()")
    fake_page.wait_for_function("phone.calls.some(c => c.direction === 'incoming')")
    fake_page.evaluate("phone.calls.find(c => c.direction === 'incoming').reject()")
    assert fake_page.evaluate("phone.calls.filter(c => c.direction === 'incoming').length") == 0
    assert [f["code"] for f in fake_page.evaluate("fake.sent") if f["type"] == "call.reject"] == [603]
    assert events(fake_page)[-2:] == ["incoming_call", "call_hangup"]
    assert fake_page.evaluate("zorioEvents").pop()["reason"] == "rejected"


def test_error_codes(fake_page: Any, fake_site: str) -> None:
    codes = fake_page.evaluate("""async () => {
      const code = (p) => p.then(() => 'ok', e => e.code);
      const out = {};
      out.before = await code(ZorioWebphone.connect({apiBase: location.origin, token: 'disabled', WebSocket: FakeWebSocket}));
      out.incomplete = await code(ZorioWebphone.connect({apiBase: location.origin, token: 'incomplete', WebSocket: FakeWebSocket}));
      out.expired = await code(ZorioWebphone.connect({apiBase: location.origin, token: 'expired', WebSocket: FakeWebSocket}));
      out.notoken = await code(ZorioWebphone.connect({apiBase: location.origin}));
      out.resolved = await code(ZorioWebphone.connect({apiBase: location.origin, token: 'expired', WebSocket: FakeWebSocket,
        tokenResolver: async () => 'fresh'}).then(p => p.disconnect()));
      fake.refuseAuth = true;
      out.ws = await code(ZorioWebphone.connect({apiBase: location.origin, token: 't', WebSocket: FakeWebSocket}));
      fake.refuseAuth = false;
      await start();
      out.target = await code(phone.call('12ab'));
      out.empty = await code(phone.call(''));
      fake.rejectCreate = 'busy';
      out.busy = await code(phone.call('1002'));
      fake.rejectCreate = null;
      const c = await phone.call('1002');
      await new Promise(r => setTimeout(r, 300));
      out.dtmf = await code(c.sendDtmf('12x'));
      out.transfer = await code(c.transfer('not a number'));
      out.attended = await code(c.attendedTransfer(''));
      out.answer = await code(c.answer());
      await c.hangup();
      await phone.disconnect();
      out.after = await code(phone.call('1002'));
      out.unregistered = zorioEvents.filter(e => e.name === 'unregistered').length;
      return out;
    }""")
    assert codes == {
        "before": "webphone_disabled", "incomplete": "incomplete_sip_config", "expired": "bootstrap_failed",
        "notoken": "bootstrap_failed", "resolved": "ok", "ws": "bootstrap_failed", "target": "invalid_target",
        "empty": "invalid_target", "busy": "busy", "dtmf": "invalid_dtmf", "transfer": "invalid_target",
        "attended": "invalid_target", "answer": "not_incoming", "after": "not_bootstrapped", "unregistered": 1,
    }
    error = fake_page.evaluate("""(() => { const e = new ZorioWebphone.ZorioWebphoneError('invalid_dtmf', {digits: 'x'});
      return {name: e.name, code: e.code, message: e.message, whatToDo: e.whatToDo, details: e.details,
              isError: e instanceof Error}; })()""")
    assert error == {"name": "ZorioWebphoneError", "code": "invalid_dtmf", "message": "DTMF digits must be 0-9, *, #, A-D.",
                     "whatToDo": "Remove other characters.", "details": {"digits": "x"}, "isError": True}


def test_reconnect_reattaches_live_call(fake_page: Any) -> None:
    fake_page.evaluate("start()")
    fake_page.evaluate("phone.call('1002').then(c => window.c = c)")
    fake_page.wait_for_function("window.c && c.state === 'answered'")
    fake_page.evaluate("fake.registeredCalls = [{call_id: c.id, uuid: c.uuid, state: 'answered', direction: 'outgoing', number: '1002'}]")
    # the server drops the socket; the media path also dies (a new peer connection must be offered)
    fake_page.evaluate("c.debug.peerConnection.close(); fake.drop()")
    fake_page.wait_for_function("zorioEvents.filter(e => e.name === 'registered').length === 1")
    assert fake_page.evaluate("phone.status") == "registered"
    fake_page.wait_for_function("fake.sent.some(f => f.type === 'sdp.offer' && f.replace === true)")
    assert fake_page.evaluate("c.state") == "answered"
    fake_page.wait_for_function("c.debug.peerConnection && c.debug.peerConnection.connectionState === 'connected'")
    assert events(fake_page)[-2:] == ["reconnecting", "registered"]
    # a drop the server never recovers from: reconnect_failed after the attempt limit
    fake_page.evaluate("window.FakeWebSocket.prototype._open = true; fake.refuseAuth = true; fake.drop()")
    fake_page.wait_for_function("phone.status === 'failed'", timeout=10000)
    names = events(fake_page)
    assert names[-2:] == ["error", "unregistered"]
    # each drop said so at once (connection_lost), and giving up said it again
    reasons = fake_page.evaluate("zorioEvents.filter(e => e.name === 'unregistered').map(e => e.reason)")
    assert reasons == ["connection_lost", "connection_lost", "reconnect_failed"]
    assert fake_page.evaluate("zorioEvents.find(e => e.name === 'error').code") == "reconnect_failed"
    assert names.count("reconnecting") == 1 + 3
    assert fake_page.evaluate("c.state") == "wrap_up"


def test_attended_transfer_and_call_waiting(fake_page: Any) -> None:
    fake_page.evaluate("start()")
    fake_page.evaluate("phone.call('1002').then(c => window.c = c)")
    fake_page.wait_for_function("window.c && c.state === 'answered'")
    fake_page.evaluate("c.attendedTransfer('1003').then(k => window.k = k)")
    fake_page.wait_for_function("window.k && k.state === 'answered'")
    assert fake_page.evaluate("[c.onHold, k.consultFor === c, phone.calls.length]") == [True, True, 2]
    fake_page.locator("zorio-phone [data-k=complete]").click()
    fake_page.wait_for_function("c.state === 'wrap_up' && k.state === 'wrap_up'")
    assert fake_page.evaluate("[c.endReason, k.endReason]") == ["transferred", "transferred"]
    frames = [f for f in fake_page.evaluate("fake.sent") if f["type"] == "call.complete_transfer"]
    assert frames[0]["call_id"] == fake_page.evaluate("c.id")
    fake_page.evaluate("phone.calls.forEach(x => x.close())")
    # call waiting: a second incoming call while on a call; answering holds the first; swap back
    fake_page.evaluate("phone.call('1002').then(c => window.c = c)")
    fake_page.wait_for_function("window.c && c.state === 'answered' && c.debug.remoteStream")
    fake_page.evaluate("fake.incoming('1004', 'Dave')")
    fake_page.locator("zorio-phone .zorio-incoming").wait_for()
    assert "Call waiting" in fake_page.locator("zorio-phone .zorio-incoming").inner_text()
    fake_page.locator("zorio-phone .zorio-answer").click()
    fake_page.wait_for_function("phone.calls.length === 2 && phone.calls[1].state === 'answered'")
    assert fake_page.evaluate("c.onHold") is True
    fake_page.locator("zorio-phone [data-k^=swap-]").click()
    fake_page.wait_for_function("!c.onHold && phone.calls[1].onHold")


def test_dial_pad_paste_and_keyboard(fake_page: Any) -> None:
    fake_page.evaluate("start()")
    dial = fake_page.locator("zorio-phone [data-k=dial]")
    assert fake_page.locator("zorio-phone .zorio-launcher").count() == 1
    fake_page.locator("zorio-phone .zorio-launcher").click()
    dial.wait_for()
    fake_page.evaluate("""(() => { const input = document.querySelector('zorio-phone').shadowRoot.querySelector('[data-k=dial]');
      const data = new DataTransfer(); data.setData('text', 'tel:+84 (90) 123-45.67');
      input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true})); })()""")
    assert dial.input_value() == "+84901234567"
    dial.fill("")
    dial.press_sequentially("10a02")
    assert dial.input_value() == "1002"
    fake_page.locator("zorio-phone [data-k=key-3]").click()
    assert dial.input_value() == "10023"
    fake_page.locator("zorio-phone [data-k=bksp]").click()
    dial.focus()
    dial.press("Enter")
    wait_state(fake_page, "answered")
    assert fake_page.evaluate("phone.calls[0].number") == "1002"


def test_diagnose_reports_each_check(fake_page: Any) -> None:
    fake_page.evaluate("start()")
    result = fake_page.evaluate("phone.diagnose()")
    checks = ["secureContext", "microphone", "config", "websocket", "stun", "turn"]
    assert set(result) == {"ok", "noFailures", "skipped", *checks}
    assert result["secureContext"]["ok"] and result["microphone"]["ok"] and result["config"]["ok"]
    assert result["websocket"] == {"status": "ok", "ok": True, "skipped": False, "detail": result["websocket"]["detail"]}
    # no STUN/TURN server configured: skipped, which is not a pass
    for name in ("stun", "turn"):
        assert result[name]["status"] == "skipped" and result[name]["ok"] is False, result[name]
    assert result["ok"] is False and result["noFailures"] is True and result["skipped"] == ["stun", "turn"]
    fake_page.locator("zorio-phone .zorio-launcher").click()
    fake_page.locator("zorio-phone [data-k=nav-diagnose]").click()
    fake_page.locator("zorio-phone [data-k=run]").click()
    fake_page.locator("zorio-phone [data-check=websocket]").wait_for()
    assert fake_page.locator("zorio-phone [data-check]").count() == 6
    # each check shows its verdict and its detail
    turn = fake_page.locator("zorio-phone [data-check=turn]")
    assert "Skipped" in turn.inner_text() and "no TURN server configured" in turn.inner_text()
    assert fake_page.locator("zorio-phone [data-check=websocket]").inner_text().count("registered in") == 1
    assert "not every check could run" in fake_page.locator("zorio-phone .zorio-diagnose").inner_text()


def test_token_resolver_called_before_expiry(fake_page: Any) -> None:
    fake_page.evaluate("window.resolved = 0; start({token: 'short', tokenResolver: () => { resolved++; return 't'; }})")
    assert fake_page.evaluate("resolved") == 0
    fake_page.wait_for_function("resolved === 1", timeout=10000)
    assert fake_page.evaluate("phone.status") == "registered"


def test_pagehide_unregisters_and_disconnect_tears_down(fake_page: Any) -> None:
    fake_page.evaluate("start()")
    fake_page.evaluate("phone.call('1002').then(c => window.c = c)")
    fake_page.wait_for_function("window.c && c.state === 'answered'")
    fake_page.evaluate("dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false}))")
    assert fake_page.evaluate("phone.status") == "unregistered"
    assert fake_page.evaluate("c.state") in ("wrap_up", "closed")
    assert fake_page.evaluate("c.debug.peerConnection") is None
    assert [f["type"] for f in fake_page.evaluate("fake.sent")][-1] == "call.hangup"
    assert fake_page.evaluate("fake.sockets.every(s => s.readyState === 3)") is True
    assert fake_page.evaluate("zorioEvents.filter(e => e.name === 'unregistered').length") == 1
    assert fake_page.evaluate("document.querySelector('zorio-phone')") is None
    assert fake_page.evaluate("phone.call('1002').catch(e => e.code)") == "not_bootstrapped"
