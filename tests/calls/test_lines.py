"""Claims on an extension's lines on one process (calls/lines.py), with fake endpoints and media.

An extension without call waiting: two calls dialled to it at the same time ring it once (the
other ends `busy`); the line is free again when the call ends; a blind transfer to it while a
call rings it is refused `busy` and leaves the original call as it was; the transfer's claim goes
with its new call and comes back when that call ends. An extension with call waiting and a
per-extension limit of 2: three calls dialled at the same time ring it twice (the third ends
`busy`), and a line comes back when one of them ends. The cluster's side: tests/cluster/.
"""

import asyncio
from collections.abc import Callable

import pytest

from tests.calls.fakes import Phone, until
from zorio_widget.calls.routing import RouteKind
from zorio_widget.calls.session import CallSession
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.calls.targets import ring_extension
from zorio_widget.protocol.messages import ProtocolError
from zorio_widget.tenants.models import Extension, Tenant

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def no_call_waiting(demo_extensions: dict[str, Extension]) -> Extension:
    await Extension.objects.filter(number="1004").aupdate(call_waiting=False)
    return demo_extensions["1004"]


async def test_two_calls_at_once_ring_the_extension_once(
        board: Switchboard, fake_phone: Callable[[str], Phone], no_call_waiting: Extension) -> None:
    alice, carol, dave = fake_phone("1001"), fake_phone("1003"), fake_phone("1004")
    first, second = await asyncio.gather(alice.dial("1004"), carol.dial("1004"))
    # the winner's ring (its offer made after the claim) can come after the loser's busy: both waited for
    await until(lambda: (alice.ended(first) == "busy") != (carol.ended(second) == "busy")
                and any(f["type"] == "call.incoming" for f in dave.device.frames))
    assert len([f for f in dave.device.frames if f["type"] == "call.incoming"]) == 1
    rung = first if carol.ended(second) == "busy" else second
    assert board.lines()[(no_call_waiting.tenant_id, "1004")] == 1  # the claim and its leg: one line
    await (alice if rung == first else carol).request("call.hangup", rung)
    assert board.claims.holders_of(no_call_waiting.tenant_id, "1004") == set()
    third = await alice.dial("1004")
    await until(lambda: dave.incoming() != "" and dave.leg(dave.incoming()).session.uuid
                == alice.leg(third).session.uuid)


async def test_a_transfer_to_a_line_in_use_is_refused_and_its_claim_goes_with_the_new_call(
        board: Switchboard, fake_phone: Callable[[str], Phone], no_call_waiting: Extension) -> None:
    alice, bob, carol, dave = fake_phone("1001"), fake_phone("1002"), fake_phone("1003"), fake_phone("1004")
    call = await alice.dial("1002")
    await bob.request("call.answer", bob.incoming(), sdp="answer-from-1002")
    ringing = await carol.dial("1004")  # dave's line is taken by carol's call
    with pytest.raises(ProtocolError) as refused_transfer:
        await bob.request("call.transfer", bob.incoming(), target="1004")
    assert refused_transfer.value.code == "busy"
    assert alice.ended(call) is None  # the original call stays
    await carol.request("call.hangup", ringing)
    await bob.request("call.transfer", bob.incoming(), target="1004")  # free now: alice goes to dave
    await until(lambda: len([f for f in dave.device.frames if f["type"] == "call.incoming"]) == 2)
    tenant = no_call_waiting.tenant_id
    assert len(board.claims.holders_of(tenant, "1004")) == 1
    refused = await carol.dial("1004")
    await until(lambda: carol.ended(refused) == "busy")  # the transferred call holds the line
    await dave.request("call.reject", dave.incoming(), code=486)
    await until(lambda: board.claims.holders_of(tenant, "1004") == set())


@pytest.fixture
async def two_lines(demo_extensions: dict[str, Extension]) -> Extension:
    """1004 with call waiting (as seeded) in a tenant whose extensions may have 2 calls at once."""
    await Tenant.objects.filter(slug="demo").aupdate(max_calls_per_extension=2)
    assert demo_extensions["1004"].call_waiting
    return demo_extensions["1004"]


def rung(callee: Phone) -> list[str]:
    """The uuids of the calls that rang the callee, in order."""
    return [str(f["uuid"]) for f in callee.device.frames if f["type"] == "call.incoming"]


async def test_with_call_waiting_three_calls_at_once_ring_the_extension_up_to_its_limit(
        board: Switchboard, fake_phone: Callable[[str], Phone], two_lines: Extension) -> None:
    callers = [fake_phone("1001"), fake_phone("1002"), fake_phone("1003")]
    dave = fake_phone("1004")
    together = asyncio.Barrier(3)

    async def ring_at_once(session: CallSession) -> None:
        """The built-in originator, entered by the three calls at the same instant (placing them
        reads the database, which would otherwise spread them apart)."""
        await together.wait()
        await ring_extension(session)

    board.originators[RouteKind.EXTENSION] = ring_at_once
    calls = list(await asyncio.gather(*(caller.dial("1004") for caller in callers)))
    board.originators[RouteKind.EXTENSION] = ring_extension
    uuids = [str(next(f["uuid"] for f in caller.device.frames if f["type"] == "call.trying" and f["call_id"] == call))
             for caller, call in zip(callers, calls, strict=True)]

    def busy() -> list[int]:
        return [i for i, (caller, call) in enumerate(zip(callers, calls, strict=True)) if caller.ended(call) == "busy"]

    await until(lambda: len(busy()) + len(rung(dave)) >= 3)
    await asyncio.sleep(0.1)  # a late ring or busy would show by now
    assert len(busy()) == 1 and len(rung(dave)) == 2, (busy(), rung(dave))
    loser = busy()[0]
    assert sorted(rung(dave)) == sorted(u for i, u in enumerate(uuids) if i != loser)
    tenant = two_lines.tenant_id
    assert len(board.claims.holders_of(tenant, "1004")) == 2 and board.lines()[(tenant, "1004")] == 2

    first = next(i for i in range(3) if i != loser)
    await callers[first].request("call.hangup", calls[first])  # a line comes back with its call's end
    await until(lambda: len(board.claims.holders_of(tenant, "1004")) == 1)
    again = await callers[loser].dial("1004")
    await until(lambda: len(rung(dave)) == 3)
    assert rung(dave)[-1] == str(callers[loser].leg(again).session.uuid)
    refused = await callers[first].dial("1004")  # both lines taken again
    await until(lambda: callers[first].ended(refused) == "busy")
    assert len(rung(dave)) == 3 and board.lines()[(tenant, "1004")] == 2
