"""Claims on an extension's line on one process (calls/lines.py), with fake endpoints and media.

An extension without call waiting: two calls dialled to it at the same time ring it once (the
other ends `busy`); the line is free again when the call ends; a blind transfer to it while a
call rings it is refused `busy` and leaves the original call as it was; the transfer's claim goes
with its new call and comes back when that call ends. The cluster's side: tests/cluster/.
"""

import asyncio
from collections.abc import Callable

import pytest

from tests.calls.fakes import Phone, until
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.protocol.messages import ProtocolError
from zorio_widget.tenants.models import Extension

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def no_call_waiting(demo_extensions: dict[str, Extension]) -> Extension:
    await Extension.objects.filter(number="1004").aupdate(call_waiting=False)
    return demo_extensions["1004"]


async def test_two_calls_at_once_ring_the_extension_once(
        board: Switchboard, fake_phone: Callable[[str], Phone], no_call_waiting: Extension) -> None:
    alice, carol, dave = fake_phone("1001"), fake_phone("1003"), fake_phone("1004")
    first, second = await asyncio.gather(alice.dial("1004"), carol.dial("1004"))
    await until(lambda: (alice.ended(first) == "busy") != (carol.ended(second) == "busy"))
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
