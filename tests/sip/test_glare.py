"""Re-INVITE glare (RFC 3261 §14.1): both ends re-INVITE at once, both get 491, and the retries
are spaced so they do not meet again: the call's placer (owner of the Call-ID) waits longer."""

from __future__ import annotations

import asyncio

import pytest

from tests.sip.conftest import Events, wait_for
from zorio_widget.sip import SipCall, UserAgent
from zorio_widget.sip.call import indialog

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def answered(pair: tuple[UserAgent, Events, UserAgent, Events]) -> tuple[SipCall, Events, SipCall, Events]:
    """A call placed by a and answered by b, with each side's events."""
    a, a_events, _, b_events = pair
    placed = a_events.watch(await a.dial("t", "+84900"))
    await wait_for(lambda: b_events.incoming)
    taken = b_events.incoming[0][0]
    await taken.answer()
    await wait_for(lambda: ("answered",) in a_events.log and taken.acked)
    return placed, a_events, taken, b_events


async def test_both_ends_holding_at_once_both_get_through_after_491(
    answered: tuple[SipCall, Events, SipCall, Events], monkeypatch: pytest.MonkeyPatch
) -> None:
    placed, a_events, taken, b_events = answered
    # the RFC's windows (2.1-4 s and 0-2 s) scaled down, kept apart as the RFC keeps them
    monkeypatch.setattr(indialog, "GLARE_RETRY_S", {"outbound": (0.6, 0.8), "inbound": (0.0, 0.3)})
    held = await asyncio.gather(placed.hold(), taken.hold())
    assert held == [True, True]
    assert ("hold", True) in a_events.log and ("hold", True) in b_events.log
    # the placer waited longer: the taker's re-INVITE went first, then the placer's (answered
    # ``inactive``: both ends hold)
    assert taken.media.remote is not None and taken.media.remote.direction == "sendonly"
    assert placed.media.remote is not None and placed.media.remote.direction == "inactive"
    assert placed.state == taken.state == "confirmed"
