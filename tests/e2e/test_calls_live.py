"""Two (three) Chromium pages on the demo page of a real Daphne server place, answer, hold, mute,
transfer and hang up calls; each page measures the energy of the audio it receives."""

from typing import Any

import pytest

from tests.e2e.agent import SILENCE, SOUND, Agent

pytestmark = pytest.mark.e2e

def test_call_through_the_ui_with_audio_hold_mute_dtmf_transfer(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    carol = agents["carol"] = Agent(browser, daphne_server.url, "1003")

    # Alice dials 1002 with the dial pad
    alice.ui(".zorio-launcher").click()
    alice.ui("[data-k=dial]").fill("1002")
    alice.ui("[data-k=call]").click()
    bob.ui(".zorio-answer").wait_for()
    assert bob.js("phone.calls[0].state") == "ringing" and bob.js("phone.calls[0].number") == "1001"
    alice.wait("phone.calls[0].state === 'ringing'")
    bob.ui(".zorio-answer").click()
    alice.wait("phone.calls[0].state === 'answered'")
    bob.wait("phone.calls[0].state === 'answered'")
    assert alice.js("phone.calls[0].uuid") == bob.js("phone.calls[0].uuid")

    # real audio both ways
    assert alice.energy() > SOUND
    assert bob.energy() > SOUND

    # hold: Bob hears music on hold; unhold
    alice.ui("[data-k^=hold-]").click()
    alice.wait("phone.calls[0].onHold")
    bob.page.wait_for_timeout(1000)
    assert bob.energy() > SOUND
    alice.ui("[data-k^=hold-]").click()
    alice.wait("!phone.calls[0].onHold")

    # mute: silence at the far end
    alice.ui("[data-k^=mute-]").click()
    alice.wait("phone.calls[0].muted")
    bob.page.wait_for_timeout(1200)
    assert bob.energy() < SILENCE
    alice.ui("[data-k^=mute-]").click()
    alice.wait("!phone.calls[0].muted")
    bob.page.wait_for_timeout(1200)
    assert bob.energy() > SOUND

    # DTMF from the keypad reaches both parties
    alice.ui("[data-k^=keypad-]").click()
    alice.ui("[data-k=dtmf-7]").click()
    bob.wait("phone.debug.frames.some(f => f.type === 'call.dtmf_received' && f.digit === '7')")
    alice.wait("phone.debug.frames.some(f => f.type === 'call.dtmf_received' && f.digit === '7')")

    # Bob transfers Alice blind to Carol
    bob.ui("[data-k^=transfer-]").click()
    bob.ui("[data-k=transfer-target]").fill("1003")
    bob.ui("[data-k=blind]").click()
    bob.wait("phone.calls[0].state === 'wrap_up'")
    assert bob.js("phone.calls[0].endReason") == "transferred"
    carol.ui(".zorio-answer").wait_for()
    assert carol.js("phone.calls[0].number") == "1001"
    carol.ui(".zorio-answer").click()
    carol.wait("phone.calls[0].state === 'answered'")
    alice.wait("phone.calls[0].state === 'answered' && phone.calls[0].debug.transitions.length >= 4")
    assert carol.energy() > SOUND

    # Alice hangs up; both sides end, with the reason
    alice.ui(".zorio-hangup").click()
    alice.wait("phone.calls[0].state === 'wrap_up'")
    carol.wait("phone.calls[0].state === 'wrap_up'")
    assert carol.js("phone.calls[0].endReason") == "hangup"

    assert alice.events() == [
        "call_ringing", "call_answered", "call_held", "call_resumed", "muted", "unmuted",
        "call_ringing", "call_answered", "call_hangup",
    ]
    assert alice.js("phone.calls[0].debug.transitions") == [
        "originating -> ringing", "ringing -> answered", "answered -> ringing", "ringing -> answered", "answered -> wrap_up",
    ]
    # Bob is told Alice held him (by: remote); his leg ended when he transferred Alice
    assert bob.events() == ["incoming_call", "call_answered", "call_held", "call_resumed", "call_hangup"]
    assert [e["by"] for e in bob.js("zorioEvents") if e["name"] == "call_held"] == ["remote"]
    assert [e["by"] for e in alice.js("zorioEvents") if e["name"] == "call_held"] == ["local"]
    assert carol.events() == ["incoming_call", "call_answered", "call_hangup"]
