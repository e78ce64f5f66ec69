"""`call.party` through a live server (real Daphne, real aiortc peers): after a blind transfer and
after an attended transfer's completion, each remaining party's socket is told who is on the line
now and which call record its leg is in; the record API agrees, and the audio is the new party's."""

import pytest

from tests.calls.conftest import CALLER_HZ
from tests.calls.test_live_incall import CAROL_HZ, _consult, connected, hears
from tests.live import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


def record_of(server: LiveServer, extension: str, uuid: str) -> dict:
    history = server.get_json("/api/webphone/calls", server.token(extension))
    return next(r for r in history["results"] if r["uuid"] == uuid)


async def test_blind_transfer_tells_the_moved_party(phone, daphne_server: LiveServer) -> None:
    alice, bob, call, answered = await connected(phone)
    carol = await phone("1003")
    await answered.send("call.transfer", target="1003")
    party = await call.expect("call.party")
    assert (party["number"], party["name"]) == ("1003", "Carol") and party["uuid"] != call.uuid
    ring = await carol.expect("call.incoming")
    assert ring["uuid"] == party["uuid"]  # the record Alice's leg is in now is the one ringing Carol
    moved = record_of(daphne_server, "1001", party["uuid"])
    assert (moved["from"], moved["to"], moved["to_name"]) == ("1001", "1003", "Carol")
    carol_call = await carol.answer(ring, CAROL_HZ)
    await call.expect("call.answered")
    assert await call.probe.wait_for(hears(CAROL_HZ))
    assert not [f for f in bob.history if f["type"] == "call.party"]
    await carol_call.hangup()
    await call.expect("call.ended")


async def test_attended_transfer_completion_tells_both_remaining_parties(phone, daphne_server: LiveServer) -> None:
    alice, bob, call, answered = await connected(phone)
    carol = await phone("1003")
    consult = await _consult(bob, answered, "1003")
    ring = await carol.expect("call.incoming")
    carol_call = await carol.answer(ring, CAROL_HZ)
    await consult.expect("call.answered")
    await answered.send("call.complete_transfer")
    to_alice = await call.expect("call.party")
    to_carol = await carol_call.expect("call.party")
    assert (to_alice["number"], to_alice["name"]) == ("1003", "Carol")
    assert (to_carol["number"], to_carol["name"]) == ("1001", "Alice")
    assert to_alice["uuid"] == to_carol["uuid"] not in (call.uuid, ring["uuid"])
    joined = record_of(daphne_server, "1003", to_carol["uuid"])
    assert (joined["from"], joined["to"], joined["ended_at"]) == ("1001", "1003", None)
    await call.expect("call.resumed")
    assert await call.probe.wait_for(hears(CAROL_HZ))
    assert await carol_call.probe.wait_for(hears(CALLER_HZ))
    await call.hangup()
    await carol_call.expect("call.ended")
