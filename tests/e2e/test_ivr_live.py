"""Chromium on the demo page dials an IVR route of a live server, hears its spoken prompt, presses a
digit on the keypad and is transferred to the extension of that option, which answers."""

from typing import Any

import pytest

from tests.e2e.agent import SOUND, Agent
from tests.live import manage

pytestmark = pytest.mark.e2e

ROUTE = "7600"


def test_the_demo_page_dials_the_ivr_hears_the_prompt_and_is_transferred(browser: Any, daphne_server: Any,
                                                                         agents: dict) -> None:
    manage(daphne_server, "add_route", "demo", ROUTE, "ivr", "--name", "Demo menu", "--params",
           '{"prompt": {"say": "Welcome to the demo. For Bob, press two. For Carol, press three."},'
           ' "options": {"2": {"extension": "1002"}, "3": {"extension": "1003"}}, "timeout_s": 30, "retries": 0}')
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")

    alice.ui(".zorio-launcher").click()
    alice.ui("[data-k=dial]").fill(ROUTE)
    alice.ui("[data-k=call]").click()
    alice.wait("phone.calls[0] && phone.calls[0].state === 'answered'")
    assert alice.energy(2000) > SOUND  # the spoken menu

    alice.ui("[data-k^=keypad-]").click()
    alice.ui("[data-k=dtmf-2]").click()
    bob.ui(".zorio-answer").wait_for(timeout=20000)
    assert bob.js("phone.calls[0].number") == "1001"
    bob.ui(".zorio-answer").click()
    bob.wait("phone.calls[0].state === 'answered'")
    alice.wait("phone.calls[0].state === 'answered' && phone.calls[0].debug.transitions.length >= 3")
    assert alice.js("phone.calls[0].debug.transitions") == [  # the IVR answered, then Bob, on the same call
        "originating -> answered", "answered -> ringing", "ringing -> answered"]
    assert bob.energy() > SOUND and alice.energy() > SOUND  # Alice and Bob hear each other

    alice.ui(".zorio-hangup").click()
    bob.wait("phone.calls[0].state === 'wrap_up'")
    assert bob.js("phone.calls[0].endReason") == "hangup"
