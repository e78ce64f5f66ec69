"""Seed 004's callbacks that a partner page gets from the softphone, in Chromium against a live server:
the agent tab (with a real queue), the language, the attended transfer with the directory and the
host's contacts, recording, the call log, the signalling messages, the card's linked and created
options (`triggerDisplay`, `createForm`, `optionsFetched`) and `customizeAppearance` in seed 004's
`{colors, metrics}` shape."""

from typing import Any

import pytest

from tests.e2e.agent import SOUND, Agent
from tests.e2e.partner import Host
from tests.live import manage

pytestmark = pytest.mark.e2e

QUEUE = "3901"


@pytest.fixture(scope="module")
def queue(daphne_server: Any) -> str:
    manage(daphne_server, "add_route", "demo", QUEUE, "queue")
    return QUEUE


def bar(host: Host, selector: str) -> Any:
    return host.sp.locator(f"#zorio-agent {selector}")


def test_agent_tab_logs_in_to_the_queues_pauses_resumes_and_reports(browser: Any, daphne_server: Any, partner: str,
                                                                     queue: str, agents: dict, artifacts: Any) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1004"))
        assert bar(host, ".zorio-agent-state").inner_text().startswith("Logged out")
        bar(host, "[data-agent=login]").click()
        logged_in = host.wait_event("onAgentLoggedIn")[0]
        assert logged_in["extension"] == "1004" and logged_in["state"] == "ready" and logged_in["queues"] == [queue]
        assert queue in bar(host, ".zorio-agent-state").inner_text()
        host.page.screenshot(path=str(artifacts / "softphone-agent-ready.png"))
        # the server's queue offers its caller to this ready agent
        caller = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        caller.js(f"phone.call('{queue}')")
        host.ui(".zorio-answer").wait_for(timeout=20000)
        host.ui(".zorio-reject").click()
        bar(host, "[data-agent=pause]").click()
        assert host.wait_event("onAgentPaused")[0]["state"] == "paused"
        assert bar(host, ".zorio-agent-state").inner_text().startswith("Paused")
        bar(host, "[data-agent=resume]").click()
        assert host.wait_event("onAgentResumed")[0]["state"] == "ready"
        # the state is kept for the tab: a reload shows it and tells the server again
        host.page.reload()
        host.wait_event("onIFrameLoaded")
        host.login(daphne_server.token("1004"))
        bar(host, ".zorio-agent-state[data-state=ready]").wait_for()
        host.frame.wait_for_function("() => document.querySelector('#zorio-agent').textContent.includes('3901')")
        bar(host, "[data-agent=logout]").click()
        assert host.wait_event("onAgentLoggedOut")[0]["state"] == "logged_out"
        assert host.wait_event("onAgentLoggedOut")[0]["queues"] == []
    finally:
        host.close()


def test_a_hidden_softphone_shows_itself_when_a_call_rings(browser: Any, daphne_server: Any, partner: str,
                                                           agents: dict) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1003"))
        host.js("ZorioSoftphone.hide()")
        iframe = host.page.locator("iframe.zorio-softphone")
        assert iframe.is_hidden()
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        bob.js("phone.call('1003')")
        host.wait_event("onCallIncoming")
        iframe.wait_for(state="visible")
        assert host.js("ZorioSoftphone.visible") is True
        host.ui(".zorio-reject").click()
    finally:
        host.close()


def test_language_switch_reports_and_translates(browser: Any, daphne_server: Any, partner: str) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1003"))
        bar(host, "[data-agent=language]").select_option("vi")
        assert host.wait_event("onLanguageChanged") == ["vi"]
        host.ui("[data-k=call]").wait_for()
        assert "Gọi" in host.ui("[data-k=call]").inner_text()
        assert bar(host, "[data-agent=login]").inner_text() == "Đăng nhập"
        assert host.frame.evaluate("() => document.documentElement.lang") == "vi"
    finally:
        host.close()


def test_attended_transfer_with_the_directory_cancel_then_confirm(browser: Any, daphne_server: Any, partner: str,
                                                                   agents: dict, artifacts: Any) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1001"))
        host.js("""() => { ZorioSoftphone.onWazoContactSearch = (query) => {
          events.push({name: "onWazoContactSearch", args: [query]});
          return [{number: "0909123456", name: "Khách hàng VIP Nguyễn Văn A"}].filter((c) => c.name.toLowerCase().includes(query.toLowerCase()) || !query);
        }; }""")
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        carol = agents["carol"] = Agent(browser, daphne_server.url, "1003")
        bob.js("phone.call('1001')")
        host.ui(".zorio-answer").click()
        bob.wait("phone.calls[0].state === 'answered'")
        host.ui("[data-k^=transfer-]").click()
        # the directory: the tenant's extensions with presence, and the host's contacts
        host.ui("[data-k=pick-1003]").wait_for()
        assert "Available" in host.ui("[data-k=pick-1003]").inner_text()
        assert host.ui("[data-k=pick-0909123456]").count() == 1
        host.ui("[data-k=transfer-target]").fill("vip")
        host.wait_event("onWazoContactSearch", count=2)
        host.ui(".zorio-directory").get_by_text("Khách hàng VIP").wait_for()
        host.page.screenshot(path=str(artifacts / "softphone-transfer-directory.png"))
        host.ui("[data-k=transfer-target]").fill("")
        host.ui("[data-k=pick-1003]").click()
        assert host.ui("[data-k=transfer-target]").input_value() == "1003"
        host.ui("[data-k=consult]").click()
        call, target = host.wait_event("onCreateIndirectTransfer")
        assert target == "1003" and call["number"] == "1002"
        consult, original = host.wait_event("onIndirectCallMade")
        assert consult["number"] == "1003" and original["id"] == call["id"]
        carol.ui(".zorio-answer").click()
        # cancel the consult: Carol's leg ends, Bob is resumed
        host.ui("[data-k=cancel-consult]").click()
        cancelled, consult_leg = host.wait_event("onCancelIndirectTransfer")
        assert cancelled["id"] == call["id"] and consult_leg["number"] == "1003"
        carol.wait("phone.calls[0].state === 'wrap_up'")
        carol.js("phone.calls[0].close()")
        bob.wait("!phone.calls[0].remoteHold")
        # consult again and confirm
        host.ui("[data-k^=transfer-]").click()
        host.ui("[data-k=transfer-target]").fill("1003")
        host.ui("[data-k=consult]").click()
        host.wait_event("onIndirectCallMade", count=2)
        carol.wait("phone.calls.some(c => c.state === 'ringing')")
        carol.js("phone.calls.find(c => c.state === 'ringing').answer()")
        host.ui("[data-k=complete]").click()
        host.wait_event("onConfirmIndirectTransfer")
        done, _consult = host.wait_event("onIndirectTransferDone")
        assert done["id"] == call["id"]
        carol.page.wait_for_timeout(1200)
        assert carol.energy(1200) > SOUND
        # who is on the line: each remaining party sees the other (the call records say it)
        bob.wait("phone.calls[0].name === 'Carol' || phone.calls[0].number === '1003'", timeout=30000)
        carol.wait("phone.calls.some(c => c.state === 'answered' && c.number === '1002')", timeout=30000)
    finally:
        host.close()


def test_recording_call_log_and_websocket_messages(browser: Any, daphne_server: Any, partner: str, agents: dict) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1001"))
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        host.js("ZorioSoftphone.makeCall('1002')")
        bob.ui(".zorio-answer").click()
        host.frame.wait_for_function("() => zorioPhone.calls[0] && zorioPhone.calls[0].state === 'answered'")
        host.ui("[data-k^=record-]").click()
        started = host.wait_event("onStartRecording")[0]
        assert started["recording"] == "recording"
        host.frame.wait_for_function("() => zorioPhone.calls[0].recording === 'recording'")
        bob.wait("phone.calls[0].recording === 'recording'")  # both parties hear of it
        host.page.wait_for_timeout(1500)
        host.ui("[data-k^=record-]").click()
        assert host.wait_event("onStopRecording")[0]["recording"] == "stopped"
        host.ui("[data-k^=hangup-]").click()
        record, call = host.wait_event("onCallLogCreated", timeout=20000)
        assert record["uuid"] == call["uuid"] and record["ended_at"] and record["end_reason"] == "hangup"
        assert record["from"] == "1001" and record["to"] == "1002" and record["options"]["recording"] in (True, False)
        frames = [args[0]["type"] for args in host.events("onWebsocketMessage")]
        assert {"call.trying", "call.answered", "call.recording", "call.ended"} <= set(frames), frames
    finally:
        host.close()


CARD = {
    "type": "object", "required": ["customer"],
    "properties": {"customer": {"type": "string", "title": "Customer"}, "notes": {"type": "string", "title": "Notes"}},
}
CARD_UI = {"customer": {"ui:field": "autocomplete", "ui:options": {
    "triggerDisplay": True,
    "createForm": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "title": "Name"}}}},
}}}


def test_card_linked_and_created_options_and_options_fetched(browser: Any, daphne_server: Any, partner: str,
                                                            agents: dict) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1001"))
        host.js("""() => {
          // answered later, through seed 004's optionsFetched
          ZorioSoftphone.onSearchOptions = (fieldId, query) => {
            events.push({name: "onSearchOptions", args: [fieldId, query]});
            setTimeout(() => ZorioSoftphone.optionsFetched(fieldId, [{value: "c-1", label: "Acme Ltd"}]), 100);
          };
          ZorioSoftphone.onCreateOption = (fieldId, values) => {
            events.push({name: "onCreateOption", args: [fieldId, values]});
            return {value: "c-new", label: values.name};
          };
        }""")
        host.js("([s, u]) => ZorioSoftphone.setFormSchema(s, u)", [CARD, CARD_UI])
        refused = host.js("""() => ZorioSoftphone.setFormSchema({type: "object", properties: {c: {type: "string"}}},
          {c: {"ui:field": "autocomplete", "ui:options": {createForm: {schema: {}}}}}).then(() => "ok", (e) => e.code)""")
        assert refused == "bad_request"
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        host.js("ZorioSoftphone.makeCall('1002')")
        bob.ui(".zorio-answer").click()
        card = host.sp.locator(".zorio-card")
        card.wait_for()
        card.locator("[data-field=customer] input").fill("acm")
        card.locator("[data-options-for=customer] li").first.click()
        field, option, call = host.wait_event("onDisplayLinkedOption")
        assert field == "customer" and option == {"value": "c-1", "label": "Acme Ltd"} and call["number"] == "1002"
        card.locator("[data-view=customer]").click()
        host.wait_event("onDisplayLinkedOption", count=2)
        card.locator("[data-new=customer]").click()
        card.locator("[data-create-for=customer] input").fill("Nguyễn Thị Bích Ngọc")
        card.locator("[data-create=customer]").click()
        assert host.wait_event("onCreateOption")[1] == {"name": "Nguyễn Thị Bích Ngọc"}
        host.wait_event("onDisplayLinkedOption", count=3)
        assert card.locator("[data-field=customer] input").input_value() == "Nguyễn Thị Bích Ngọc"
        bob.js("phone.calls[0].hangup()")
        card.locator(".zorio-card-save").click()
        saved = host.wait_event("onCardSaved")
        assert saved[1] == {"customer": "c-new"}
        assert host.sp.locator(".zorio-card-notice").inner_text() == "Saved."
        # one wrap-up flow: the card was it, no "Done" card in the phone
        assert host.ui(".zorio-wrap").count() == 0
    finally:
        host.close()


def test_customize_appearance_takes_seed_004s_colors_and_metrics(browser: Any, daphne_server: Any, partner: str) -> None:
    host = Host(browser, partner)
    try:
        host.login(daphne_server.token("1003"))
        host.js("ZorioSoftphone.customizeAppearance({colors: {primary: '#8e24aa', error: '#b71c1c'}, metrics: {borderRadius: 3}})")
        header = host.ui("header")
        host.frame.wait_for_function(
            "() => getComputedStyle(document.querySelector('zorio-phone').shadowRoot.querySelector('header')).backgroundColor === 'rgb(142, 36, 170)'")
        assert header.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(142, 36, 170)"
        radius = host.ui("[data-k=call]").evaluate("el => getComputedStyle(el).borderTopLeftRadius")
        assert radius == "3px"
        refused = host.js("() => ZorioSoftphone.customizeAppearance({colors: {primry: '#000'}, sizes: {}}).then(() => 'ok', (e) => e.message)")
        assert "colors.primry" in refused and "sizes" in refused
    finally:
        host.close()
