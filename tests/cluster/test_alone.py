"""The cluster's pieces without Redis, on a switchboard of fakes (tests/calls/fakes.py), in seconds.

Alone (the in-memory channel layer) the router passes everything to the switchboard; the parts a
cluster adds to the switchboard's questions go through its `Directory`, refused slots included;
a drain ends what is still live at its deadline and leaves nothing taken.
"""

import time
from typing import Any

import pytest

from tests.calls.conftest import board, demo_extensions, fake_phone  # noqa: F401  (fixtures)
from tests.calls.fakes import FakeDevice, frame, make_board
from zorio_widget.calls.directory import Alone
from zorio_widget.calls.limits import CallLimits
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.states import CallState
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.cluster.drain import drain
from zorio_widget.cluster.router import Router
from zorio_widget.protocol.messages import ProtocolError
from zorio_widget.tenants.models import Extension

pytestmark = pytest.mark.timeout(60)


class Elsewhere(Alone):
    """A directory whose other processes have one call of every extension and refuse every slot."""

    def __init__(self) -> None:
        self.given_back = 0
        self.changes = 0

    async def calls_elsewhere(self, tenant_id: int, number: str) -> int:
        return 1

    async def take_slot(self, tenant_id: int, number: str, limits: CallLimits) -> str | None:
        return "Your organisation has reached its limit of 1 live calls."

    def give_slot(self, tenant_id: int, number: str) -> None:
        self.given_back += 1

    def calls_changed(self) -> None:
        self.changes += 1


async def test_a_slot_the_cluster_refuses_is_refused_and_nothing_stays_taken() -> None:
    directory = Elsewhere()
    switchboard = make_board(directory=directory)
    refused = await switchboard.take_slot(1, "1001", CallLimits(per_tenant=10, per_extension=10))
    assert refused == "Your organisation has reached its limit of 1 live calls."
    assert switchboard.capacity.in_use == 0 and switchboard.quota.of_tenant(1) == 0
    assert switchboard.quota.of_extension(1, "1001") == 0
    assert directory.changes == 0  # nothing was taken, so nothing to publish


async def test_busy_counts_the_calls_of_other_processes() -> None:
    switchboard = make_board(directory=Elsewhere())
    assert switchboard.live_calls_here(1, "1002") == 0
    assert await switchboard.live_calls_of(1, "1002") == 1 and await switchboard.is_busy(1, "1002")


async def test_alone_the_router_is_the_switchboard(
        board: Switchboard, demo_extensions: dict[str, Extension]) -> None:  # noqa: F811
    router = Router(board)
    alice_ext, bob_ext = demo_extensions["1001"], demo_extensions["1002"]
    alice = FakeDevice(alice_ext.tenant_id, alice_ext.pk, "1001", "Alice")
    bob = FakeDevice(bob_ext.tenant_id, bob_ext.pk, "1002", "Bob")
    assert await router.register(alice) == [] and await router.register(bob) == []
    await router.create_call(alice, frame("call.create", req_id="r1", destination="1002", sdp="offer:client"))
    incoming = bob.last("call.incoming")
    await router.on_leg(bob, frame("call.answer", call_id=incoming["call_id"], sdp="answer"))
    assert "call.answered" in alice.types()
    await router.on_leg(alice, frame("ice.candidate", call_id=alice.last("call.trying")["call_id"],
                                     candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host"))
    await router.unregister(bob)  # no re-attach grace on this board: the call ends
    assert alice.last("call.ended")["reason"] == "hangup"


async def test_a_draining_switchboard_refuses_new_calls_and_ends_live_ones_at_the_deadline(
        board: Switchboard, fake_phone: Any) -> None:  # noqa: F811
    alice, bob = fake_phone("1001"), fake_phone("1002")
    a = await alice.dial("1002")
    await bob.request("call.answer", bob.incoming(), sdp="answer")
    session = board.legs[a].session
    started = time.monotonic()
    ended = await drain(Router(board), timeout_s=0.5)
    assert ended == 1 and 0.4 <= time.monotonic() - started < 5
    assert alice.ended(a) == "hangup" and session.state == CallState.CLOSED
    assert board.sessions == set() and board.capacity.in_use == 0
    record = await CallRecord.objects.aget(uuid=session.uuid)
    assert record.end_reason == "hangup" and record.ended_at is not None
    with pytest.raises(ProtocolError) as refused:
        await Router(board).create_call(alice.device, frame("call.create", req_id="r9", destination="*43", sdp="x"))
    assert refused.value.code == "draining" and refused.value.req_id == "r9"
