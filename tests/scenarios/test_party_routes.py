"""`call.party` when the new far party is a scenario route: a blind transfer to a route names the
route (its name, else its scenario), and the scenario then answers the moved party's leg."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.calls.fakes import Phone, until
from zorio_widget.calls.switchboard import Switchboard

pytestmark = pytest.mark.timeout(60)


async def test_a_blind_transfer_to_a_route_names_the_route(board: Switchboard, on_board: Callable[[str], Phone],
                                                           route) -> None:
    await route("7001", "tests.scenarios.scripts:answer_with_headers", name="Help desk")
    alice, bob = on_board("1001"), on_board("1002")
    a = await alice.dial("1002")
    b = bob.incoming()
    await bob.request("call.answer", b, sdp="answer-from-1002")
    await bob.request("call.transfer", b, target="7001")
    moved = board.legs[a].session
    assert alice.device.last("call.party") == {"type": "call.party", "call_id": a, "uuid": str(moved.uuid),
                                               "number": "7001", "name": "Help desk"}
    await until(lambda: alice.device.types(a)[-1:] == ["call.message"])  # the scenario has the leg now
    assert alice.device.last("call.message")["text"] == "hello from the scenario"
    await alice.request("call.hangup", a)
