"""Calls driven end to end through the call layer's interfaces, with fake endpoints and media.

No server, no socket, no peer connection: a real `Switchboard`, real `CallSession`s and the real
`Bridge` (what each party hears is read off its real outbound track), real records in the test
database; the endpoints and media are tests/calls/fakes.py. Seconds, not minutes.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.calls.fakes import BAD_SDP, FakeDevice, FakeMedia, Phone, make_board, until
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.routing import RouteKind
from zorio_widget.calls.session import CallSession
from zorio_widget.calls.states import CallState
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.protocol.messages import ProtocolError
from zorio_widget.tenants.models import Extension

pytestmark = pytest.mark.timeout(60)

PhoneFactory = Callable[[str], Phone]


def hears(phone: Phone, call_id: str) -> str:
    return phone.media(call_id).hears


async def record(session: CallSession) -> CallRecord:
    return await CallRecord.objects.aget(uuid=session.uuid)


async def until_closed(board: Switchboard, timeout_s: float = 10.0) -> None:
    """Until the board has no call and every record is closed: a call leaves the board before its
    record's last write, and a test ending in between would tear the database down under it."""
    await until(lambda: not board.sessions, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    while await CallRecord.objects.filter(ended_at__isnull=True).aexists():
        assert time.monotonic() < deadline, "a call record is still open"
        await asyncio.sleep(0.01)


def assert_board_empty(board: Switchboard) -> None:
    """No leg, call, slot or bridge record left: the call freed everything it took."""
    assert board.legs == {} and board.sessions == set() and board.capacity.in_use == 0
    for tenant_id, number in board.presence:
        assert board.quota.of_tenant(tenant_id) == board.quota.of_extension(tenant_id, number) == 0
    assert board.bridge._legs == {}


def board_of(extensions: dict[str, Extension], *numbers: str, **options: Any) -> tuple[Switchboard, list[Phone]]:
    """A switchboard of fakes with `options`, and a registered phone of each extension."""
    board = make_board(**options)
    phones = []
    for number in numbers:
        ext = extensions[number]
        phones.append(Phone(board, FakeDevice(ext.tenant_id, ext.pk, ext.number, ext.name)))
        board.register(phones[-1].device)
    return board, phones


async def answer(phone: Phone, call_id: str) -> None:
    await phone.request("call.answer", call_id, sdp=f"answer-from-{phone.number}")


async def test_a_whole_call_ring_answer_hold_blind_and_attended_transfer_end(
        board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, bob, carol, dave = (fake_phone(n) for n in ("1001", "1002", "1003", "1004"))

    # originate -> ring
    a = await alice.dial("1002", caller_name="Alice from sales")
    first = board.legs[a].session
    assert alice.device.types(a) == ["call.trying", "sdp.answer", "ice.candidate", "call.ringing"]
    assert first.state == CallState.RINGING and hears(alice, a) == "ringback"
    incoming = bob.device.last("call.incoming")
    b = incoming["call_id"]
    assert incoming["from"] == "1001" and incoming["from_name"] == "Alice from sales" and incoming["to"] == "1002"
    assert incoming["uuid"] == str(first.uuid) and incoming["sdp"] == f"offer:{b}"

    # answer: each hears the other
    await answer(bob, b)
    assert first.state == CallState.ANSWERED
    assert "call.answered" in alice.device.types(a) and "call.answered" in bob.device.types(b)
    assert hears(alice, a) == f"forward<{b}>" and hears(bob, b) == f"forward<{a}>"
    assert (await record(first)).answered_at is not None

    # hold: the held party hears music, the holder silence; the bridge alone keeps the flag
    await bob.request("call.hold", b)
    assert bob.device.last("call.held")["by"] == "local" and alice.device.last("call.held")["by"] == "remote"
    assert hears(alice, a) == "music" and hears(bob, b) == "silence"
    assert board.legs[b].held and not board.legs[a].held
    with pytest.raises(ProtocolError) as refused:
        await bob.request("call.hold", b)
    assert refused.value.code == "invalid_state"
    await bob.request("call.unhold", b)
    assert hears(alice, a) == f"forward<{b}>" and not board.legs[b].held

    # blind transfer: alice's leg (same call_id) moves to a new call ringing carol
    await bob.request("call.transfer", b, target="1003")
    assert bob.ended(b) == "transferred" and alice.ended(a) is None
    second = board.legs[a].session
    assert second is not first and second.caller is board.legs[a]
    await until(lambda: second.state == CallState.RINGING)
    assert hears(alice, a) == "ringback"
    c = carol.incoming()
    assert carol.device.last("call.incoming")["from"] == "1001"
    await answer(carol, c)
    assert hears(alice, a) == f"forward<{c}>" and hears(carol, c) == f"forward<{a}>"
    first_record = await record(first)
    assert first_record.end_reason == "transferred" and first_record.transferred_to == "1003"
    assert (await record(second)).meta["transferred_from"] == str(first.uuid)

    # attended transfer: carol holds alice, consults dave, then joins them
    await carol.request("call.attended_transfer", c, target="1004")
    assert hears(alice, a) == "music"
    consult_trying = carol.device.last("call.trying")
    k = consult_trying["call_id"]
    assert k != c and carol.device.last("sdp.offer")["call_id"] == k
    await carol.request("sdp.answer", k, sdp="answer-to-consult")
    consult = board.legs[k].session
    assert second.consult is consult
    await until(lambda: consult.state == CallState.RINGING)
    d = dave.incoming()
    assert dave.device.last("call.incoming")["from"] == "1003"
    await answer(dave, d)
    assert hears(carol, k) == f"forward<{d}>" and hears(alice, a) == "music"
    await carol.request("call.complete_transfer", c)
    assert carol.ended(c) == "transferred" and carol.ended(k) == "transferred"
    joined = board.legs[a].session
    assert joined is board.legs[d].session and joined.caller is board.legs[a] and joined.callee is board.legs[d]
    assert joined.state == CallState.ANSWERED
    assert alice.device.last("call.resumed")["by"] == "remote"
    assert hears(alice, a) == f"forward<{d}>" and hears(dave, d) == f"forward<{a}>"

    # end
    await dave.request("call.hangup", d)
    assert alice.ended(a) == "hangup" and dave.ended(d) == "hangup"
    for session in (first, second, consult, joined):
        assert not session.is_live
        closed = await record(session)
        assert closed.ended_at is not None, session
    assert (await record(joined)).end_reason == "hangup"
    assert (await record(consult)).end_reason == "transferred"
    assert_board_empty(board)


async def test_a_consult_that_ends_untransferred_gives_the_held_party_back(
        board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, bob, _carol = fake_phone("1001"), fake_phone("1002"), fake_phone("1003")
    a = await alice.dial("1002")
    b = bob.incoming()
    await answer(bob, b)
    await bob.request("call.attended_transfer", b, target="1003")
    k = bob.device.last("call.trying")["call_id"]
    assert hears(alice, a) == "music"
    await bob.request("call.hangup", k)  # the consult is cancelled while it rings
    assert bob.ended(k) == "cancelled"
    await until(lambda: not board.legs[b].held)
    assert bob.device.last("call.resumed")["by"] == "local" and alice.device.last("call.resumed")["by"] == "remote"
    assert hears(alice, a) == f"forward<{b}>" and board.legs[b].session.consult is None


@pytest.mark.parametrize(("number", "heard"), [("*43", "echo"), ("*44", "music")])
async def test_service_numbers_are_answered_by_the_bridge(board: Switchboard, fake_phone: PhoneFactory,
                                                          number: str, heard: str) -> None:
    alice = fake_phone("1001")
    a = await alice.dial(number)
    assert board.legs[a].session.state == CallState.ANSWERED and "call.answered" in alice.device.types(a)
    assert hears(alice, a) == (f"forward<{a}>" if heard == "echo" else heard)


@pytest.mark.parametrize("number", ["5555", "1001", "1004"], ids=["nobody", "oneself", "not-registered"])
async def test_a_call_nothing_can_take_ends_failed(board: Switchboard, fake_phone: PhoneFactory, number: str) -> None:
    alice = fake_phone("1001")
    a = await alice.dial(number)
    assert alice.ended(a) == "failed"
    assert_board_empty(board)


async def test_bad_sdp_leaves_no_call_no_record_and_no_slot(board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, _bob = fake_phone("1001"), fake_phone("1002")
    with pytest.raises(ProtocolError) as refused:
        await alice.dial("1002", sdp=BAD_SDP)
    assert refused.value.code == "bad_sdp" and refused.value.req_id == "r1"
    assert_board_empty(board)
    assert await CallRecord.objects.acount() == 0


async def test_every_device_rings_and_the_first_answer_takes_the_call(
        board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, desk, mobile = fake_phone("1001"), fake_phone("1002"), fake_phone("1002")
    a = await alice.dial("1002")
    on_desk, on_mobile = desk.incoming(), mobile.incoming()
    await answer(mobile, on_mobile)
    assert desk.ended(on_desk) == "answered-elsewhere" and on_desk not in board.legs
    assert hears(alice, a) == f"forward<{on_mobile}>"


@pytest.mark.parametrize(("request_type", "fields", "reason"), [
    ("call.reject", {"code": 486}, "busy"),
    ("call.reject", {}, "rejected"),
    ("call.hangup", {}, "rejected"),
])
async def test_the_callee_refuses(board: Switchboard, fake_phone: PhoneFactory, request_type: str,
                                  fields: dict[str, int], reason: str) -> None:
    alice, bob = fake_phone("1001"), fake_phone("1002")
    a = await alice.dial("1002")
    await bob.request(request_type, bob.incoming(), **fields)
    assert alice.ended(a) == reason
    assert_board_empty(board)


async def test_the_caller_cancels_and_the_ring_times_out(demo_extensions: dict[str, Extension]) -> None:
    board, (alice, bob) = board_of(demo_extensions, "1001", "1002", ring_timeout_s=0.2)
    a = await alice.dial("1002")
    await alice.request("call.hangup", a)
    assert alice.ended(a) == "cancelled" and bob.ended(bob.incoming()) == "cancelled"
    a = await alice.dial("1002")
    await until_closed(board)
    assert alice.ended(a) == "no-answer"
    assert_board_empty(board)


async def test_mute_dtmf_and_a_replaced_peer_connection(board: Switchboard, fake_phone: PhoneFactory) -> None:
    alice, bob = fake_phone("1001"), fake_phone("1002")
    a = await alice.dial("1002")
    b = bob.incoming()
    await answer(bob, b)
    await alice.request("call.mute", a)
    assert hears(bob, b) == "silence" and board.legs[a].muted and alice.device.last("call.muted")
    await alice.request("call.dtmf", a, digits="12#")
    assert bob.media(b).digits_sent == "12#"
    assert [f["digit"] for f in bob.device.frames if f["type"] == "call.dtmf_received"] == ["1", "2", "#"]
    bob.media(b).press("5")  # a digit bob's media received (RFC 4733): regenerated to alice
    await until(lambda: alice.media(a).digits_sent == "5")

    old = alice.media(a)
    await alice.request("sdp.offer", a, sdp="offer-after-network-change", replace=True)
    new = alice.media(a)
    assert new is not old and old.state == "closed" and alice.device.last("sdp.answer")["sdp"].startswith(
        f"answer:{new.id}")
    assert board.legs[a].muted and hears(bob, b) == "silence"  # the new connection is still muted
    await alice.request("call.unmute", a)
    assert hears(bob, b) == f"forward<{new.id}>" and hears(alice, a) == f"forward<{b}>"


@pytest.mark.parametrize(("connects", "reason"), [(True, "hangup"), (False, "failed")],
                         ids=["fails-later", "never-connects"])
async def test_media_that_fails_or_never_connects_ends_the_call(demo_extensions: dict[str, Extension],
                                                                connects: bool, reason: str) -> None:
    board, (alice, bob) = board_of(demo_extensions, "1001", "1002", media_connect_timeout_s=0.2,
                                   media=lambda media_id: FakeMedia(media_id, connects=connects))
    a = await alice.dial("1002")
    b = bob.incoming()
    await answer(bob, b)
    if connects:
        bob.media(b).fail()
    await until_closed(board)  # the call has finished ending
    assert alice.ended(a) == reason and bob.ended(b) == reason
    assert_board_empty(board)


async def test_a_dropped_device_has_its_grace_and_a_new_device_takes_the_call_over(
        demo_extensions: dict[str, Extension]) -> None:
    board, (alice, bob) = board_of(demo_extensions, "1001", "1002", reattach_grace_s=0.3)
    ext_a = demo_extensions["1001"]
    a = await alice.dial("1002")
    await answer(bob, bob.incoming())
    await board.unregister(alice.device)
    back = FakeDevice(ext_a.tenant_id, ext_a.pk, "1001", ext_a.name)
    assert [leg.call_id for leg in board.register(back)] == [a]
    assert board.summary(board.legs[a])["state"] == "answered" and board.legs[a].endpoint is back
    await asyncio.sleep(0.45)  # past the first drop's grace: the re-attach cancelled it
    assert board.legs[a].session.is_live
    await board.unregister(back)  # dropped again: this drop's grace runs out
    await until_closed(board, timeout_s=5)
    assert bob.ended(bob.incoming()) == "hangup"
    assert_board_empty(board)


async def test_a_new_target_kind_is_one_originator_driving_its_own_kind_of_endpoint(
        demo_extensions: dict[str, Extension]) -> None:
    """How a trunk (or scenario) route plugs in: the switchboard is given an originator for its
    target kind, which makes the callee side with an endpoint of its own kind (here a gateway:
    no extension, not in presence) through the same session interface as a device."""
    ext = demo_extensions["1001"]
    gateway = FakeDevice(ext.tenant_id, None, "gateway", "Gateway")

    async def dial_out(session: CallSession) -> None:
        await session.offer_to(gateway)
        await session.ringing_started()

    board = make_board(originators={RouteKind.UNKNOWN: dial_out})
    alice, far_end = Phone(board, FakeDevice(ext.tenant_id, ext.pk, "1001", ext.name)), Phone(board, gateway)
    board.register(alice.device)
    a = await alice.dial("+84 912 345 678")
    g = far_end.incoming()
    assert gateway.last("call.incoming")["to"] == "+84912345678" and hears(alice, a) == "ringback"
    await answer(far_end, g)
    assert hears(alice, a) == f"forward<{g}>" and hears(far_end, g) == f"forward<{a}>"
    await far_end.request("call.hangup", g)
    assert alice.ended(a) == "hangup"
    closed = await CallRecord.objects.aget(to_number="+84912345678")
    assert closed.end_reason == "hangup" and closed.answered_at is not None and closed.direction == "outgoing"
    assert_board_empty(board)
