"""The softphone's screens (agent bar, call, after-call card, language), screenshot and scanned with
axe-core inside the iframe (its strict CSP does not keep axe out: it is evaluated through the debugging
protocol) against the live server, with a real call."""

from typing import Any

import pytest

from tests.e2e.a11y import check
from tests.e2e.agent import Agent
from tests.e2e.partner import Host

pytestmark = pytest.mark.e2e

CARD = {"type": "object", "required": ["outcome"], "properties": {
    "customer": {"type": "string", "title": "Customer", "format": "autocomplete"},
    "outcome": {"type": "string", "title": "Outcome", "enum": ["Sale", "Follow-up"]},
    "callback": {"type": "boolean", "title": "Call back"},
    "notes": {"type": "string", "title": "Notes"},
}}


def test_softphone_screens_have_no_serious_accessibility_violation(browser: Any, daphne_server: Any, partner: str,
                                                                    agents: dict) -> None:
    host = Host(browser, partner)
    try:
        check(host.page, "softphone-01-logged-out", host.frame)
        host.login(daphne_server.token("1001"))
        host.js("([s, u]) => ZorioSoftphone.setFormSchema(s, u)", [CARD, {"notes": {"ui:widget": "textarea"}}])
        check(host.page, "softphone-02-ready", host.frame)
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        bob.js("phone.call('1001')")
        host.ui(".zorio-answer").wait_for()
        check(host.page, "softphone-03-incoming", host.frame)
        host.ui(".zorio-answer").click()
        card = host.sp.locator(".zorio-card")
        card.wait_for()
        check(host.page, "softphone-04-in-call-with-card", host.frame)
        card.locator("[data-field=customer] input").fill("ac")
        card.locator("[data-options-for=customer] li").first.wait_for()
        check(host.page, "softphone-05-card-options", host.frame)
        bob.js("phone.calls[0].hangup()")
        host.frame.wait_for_function("() => zorioPhone.calls[0].state === 'wrap_up'")  # edited: no countdown
        check(host.page, "softphone-06-wrap-up-card", host.frame)
        card.locator("[data-field=outcome] select").select_option(label="Sale")
        card.locator(".zorio-card-save").click()
        host.sp.locator(".zorio-card-notice").wait_for()
        check(host.page, "softphone-07-saved", host.frame)
        host.sp.locator("#zorio-agent [data-agent=language]").select_option("vi")
        host.ui("[data-k=call]").wait_for()
        check(host.page, "softphone-08-vietnamese", host.frame)
    finally:
        host.close()
