"""`call.party` (docs/DESIGN.md §4): a leg whose far party changes is told who is on the line now
and which call record it is in, by the session that moved it; fakes (tests/calls/fakes.py), no server.
"""

from collections.abc import Callable

import pytest

from tests.calls.fakes import Phone, until
from zorio_widget.calls.switchboard import Switchboard

pytestmark = pytest.mark.timeout(60)

PhoneFactory = Callable[[str], Phone]


def parties(phone: Phone, call_id: str) -> list[dict]:
    return [f for f in phone.device.frames if f["type"] == "call.party" and f["call_id"] == call_id]


async def connected(caller: Phone, callee: Phone, **options: str) -> tuple[str, str]:
    a = await caller.dial(callee.number, **options)
    b = callee.incoming()
    await callee.request("call.answer", b, sdp=f"answer-from-{callee.number}")
    return a, b


async def test_a_blind_transfer_tells_the_moved_party_its_new_far_party(
        board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, bob, carol = fake_phone("1001"), fake_phone("1002"), fake_phone("1003")
    a, b = await connected(alice, bob)
    assert parties(alice, a) == parties(bob, b) == []  # nobody changed yet: set-up says who is who
    await bob.request("call.transfer", b, target="1003")
    moved = board.legs[a].session
    # at once, while Carol rings: the moved leg keeps its call_id, in the new call's record
    assert parties(alice, a) == [{"type": "call.party", "call_id": a, "uuid": str(moved.uuid),
                                  "number": "1003", "name": "Carol"}]
    assert parties(bob, b) == []  # the transferring agent's leg ended `transferred`
    await until(lambda: "call.incoming" in carol.device.types())
    c = carol.incoming()
    await carol.request("call.answer", c, sdp="answer-from-1003")
    assert parties(carol, c) == []  # Carol's call.incoming already named Alice
    assert len(parties(alice, a)) == 1


async def test_the_callee_moved_by_a_blind_transfer_is_told_too(
        board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, bob, _dave = fake_phone("1001"), fake_phone("1002"), fake_phone("1004")
    a, b = await connected(alice, bob)
    await alice.request("call.transfer", a, target="1004")
    assert parties(bob, b) == [{"type": "call.party", "call_id": b, "uuid": str(board.legs[b].session.uuid),
                                "number": "1004", "name": "Dave"}]


async def test_completing_an_attended_transfer_tells_both_remaining_parties(
        board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, bob, carol = fake_phone("1001"), fake_phone("1002"), fake_phone("1003")
    a, b = await connected(alice, bob, caller_name="Alice from sales")
    await bob.request("call.attended_transfer", b, target="1003")
    k = bob.device.last("call.trying")["call_id"]
    await bob.request("sdp.answer", k, sdp="answer-to-consult")
    await until(lambda: "call.incoming" in carol.device.types())
    c = carol.incoming()
    await carol.request("call.answer", c, sdp="answer-from-1003")
    assert parties(alice, a) == parties(carol, c) == []  # consulting changes nobody's far party
    await bob.request("call.complete_transfer", b)
    joined = board.legs[a].session
    assert joined is board.legs[c].session
    # each is told the other, as call.incoming would have named them (the caller's caller_name first)
    assert parties(alice, a) == [{"type": "call.party", "call_id": a, "uuid": str(joined.uuid),
                                  "number": "1003", "name": "Carol"}]
    assert parties(carol, c) == [{"type": "call.party", "call_id": c, "uuid": str(joined.uuid),
                                  "number": "1001", "name": "Alice from sales"}]
    assert parties(bob, b) == parties(bob, k) == []
    # told before the resume: a client re-renders the party along with the end of the hold
    assert alice.device.types(a)[-2:] == ["call.party", "call.resumed"]
