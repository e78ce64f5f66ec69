"""Who is on the line after a transfer, in Chromium against the live server: the server's
`call.party` frame re-renders the name at once on the widget and the softphone, with no read of the
call records after set-up (they used to be polled every 12 s).
"""

from typing import Any

import pytest

from tests.e2e.agent import SOUND, Agent
from tests.e2e.partner import Host

pytestmark = pytest.mark.e2e

#: Well under the 12 s the records were polled at: only the frame can have done it.
PROMPT_MS = 3000


def watch_records(page: Any) -> list[str]:
    """The page's requests for call records, from now on."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if "/api/webphone/calls" in request.url else None)
    return seen


def test_the_widget_names_the_new_party_after_a_blind_and_an_attended_transfer(
        browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    carol = agents["carol"] = Agent(browser, daphne_server.url, "1003")
    dave = agents["dave"] = Agent(browser, daphne_server.url, "1004")
    alice.js("phone.call('1002')")
    bob.ui(".zorio-answer").click()
    alice.wait("phone.calls[0].state === 'answered' && phone.calls[0].name === 'Bob'")
    alice.js("window.parties = []; phone.calls[0].on('party', (p) => parties.push([p.number, p.name, p.call.uuid]))")
    first_uuid = alice.js("phone.calls[0].uuid")
    records = watch_records(alice.page)

    # blind: Bob moves Alice to Carol; Alice's card says Carol while Carol's phone rings
    bob.js("phone.calls[0].transfer('1003')")
    alice.wait("phone.calls[0].name === 'Carol'", timeout=PROMPT_MS)
    assert alice.ui(".zorio-call .zorio-peer").inner_text() == "Carol"
    [(number, name, uuid)] = alice.js("parties")
    assert (number, name) == ("1003", "Carol") and uuid != first_uuid
    assert alice.js("[phone.calls[0].number, phone.calls[0].to, phone.calls[0].from]") == ["1003", "1003", "1001"]
    carol.ui(".zorio-answer").wait_for()
    assert carol.js("phone.calls[0].uuid") == uuid  # the record Alice's leg is in now
    carol.ui(".zorio-answer").click()
    alice.wait("phone.calls[0].state === 'answered'")
    assert alice.ui(".zorio-active .zorio-peer").inner_text() == "Carol"

    # attended: Carol consults Dave and joins him with Alice; each of them sees the other at once
    carol.js("phone.calls[0].attendedTransfer('1004')")
    dave.ui(".zorio-answer").click()
    carol.wait("phone.calls.length === 2 && phone.calls[1].state === 'answered'")
    dave.wait("phone.calls[0].name === 'Carol'")
    carol.js("phone.calls[0].completeTransfer()")
    alice.wait("phone.calls[0].name === 'Dave' && !phone.calls[0].remoteHold", timeout=PROMPT_MS)
    dave.wait("phone.calls[0].name === 'Alice' && phone.calls[0].number === '1001'", timeout=PROMPT_MS)
    assert alice.ui(".zorio-active .zorio-peer").inner_text() == "Dave"
    assert dave.ui(".zorio-active .zorio-peer").inner_text() == "Alice"
    assert dave.js("[phone.calls[0].from, phone.calls[0].fromName]") == ["1001", "Alice"]
    assert alice.js("parties.map((p) => p[0])") == ["1003", "1004"]
    assert alice.js("phone.calls[0].uuid") == dave.js("phone.calls[0].uuid") != uuid
    dave.page.wait_for_timeout(1200)
    assert dave.energy() > SOUND and alice.energy() > SOUND  # they hear each other
    assert records == []  # no record was read: the frames said it all
    alice.ui("[data-k^=hangup-]").click()
    dave.wait("phone.calls[0].state === 'wrap_up'")


def test_the_softphone_names_the_new_party_in_its_call_and_its_card(
        browser: Any, daphne_server: Any, partner: str, agents: dict) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1001"))
        host.js("ZorioSoftphone.setFormSchema({type: 'object', properties: {notes: {type: 'string', title: 'Notes'}}}, {})")
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        carol = agents["carol"] = Agent(browser, daphne_server.url, "1003")
        bob.js("phone.call('1001')")
        host.ui(".zorio-answer").click()
        bob.wait("phone.calls[0].state === 'answered'")
        card = host.sp.locator(".zorio-card h2")
        card.wait_for()
        assert card.inner_text().endswith("· Bob")
        records = watch_records(host.page)
        # Bob consults Carol and joins her with the softphone's agent
        bob.js("phone.calls[0].attendedTransfer('1003')")
        carol.ui(".zorio-answer").click()
        bob.wait("phone.calls.length === 2 && phone.calls[1].state === 'answered'")
        bob.js("phone.calls[0].completeTransfer()")
        host.frame.wait_for_function("() => zorioPhone.calls[0].name === 'Carol'", timeout=PROMPT_MS)
        host.ui(".zorio-active .zorio-peer").get_by_text("Carol").wait_for(timeout=PROMPT_MS)
        assert card.inner_text().endswith("· Carol")
        assert host.frame.evaluate("zorioPhone.calls[0].uuid") == carol.js("phone.calls[0].uuid")
        assert records == []
        carol.js("phone.calls[0].hangup()")
        host.wait_event("onCallEnded")
    finally:
        host.close()
