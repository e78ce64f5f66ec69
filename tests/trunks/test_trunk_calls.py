"""Trunk calls through the call layer without a server: a real switchboard with fake browsers
(tests/calls/fakes.py), our real SIP user agent and RTP, and a second user agent in the test as the
carrier (real SIP and RTP over loopback). What each party hears is the real bridge's decision."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from django.core.management import call_command

from tests.calls.fakes import FakeDevice, FakeMedia, Phone, make_board, until
from tests.calls.test_session import assert_board_empty
from tests.sip.conftest import FAST, Events
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.routing import RouteKind
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.media.rtp import PortRange, RtpLeg
from zorio_widget.protocol.messages import ProtocolError
from zorio_widget.sip import SipCall, TrunkConfig, UserAgent
from zorio_widget.tenants.models import Extension
from zorio_widget.trunks.calls import TrunkCalls
from zorio_widget.trunks.models import Did, Trunk
from zorio_widget.trunks.service import TrunkService

pytestmark = [pytest.mark.timeout(60), pytest.mark.django_db(transaction=True)]
DID = "+842873000100"
CUSTOMER = "0912345678"


@dataclass
class Setup:
    board: Switchboard
    alice: Phone
    bob: Phone
    carrier: UserAgent
    far: Events
    service: TrunkService
    trunk: Trunk


@pytest.fixture
async def s() -> AsyncIterator[Setup]:
    await asyncio.to_thread(call_command, "seed_demo", stdout=io.StringIO())
    extensions = {e.number: e async for e in Extension.objects.filter(tenant__slug="demo").select_related("tenant")}
    far = Events()
    carrier = UserAgent("127.0.0.1", 0, timers=FAST, rtp_ports=PortRange(44600, 44699), media_timeout_s=0,
                        on_incoming=lambda call, target: far.incoming.append((far.watch(call), target)))
    await carrier.start()
    ours = UserAgent("127.0.0.1", 0, timers=FAST, rtp_ports=PortRange(44700, 44799), media_timeout_s=0)
    service = TrunkService(ours)
    trunk = await Trunk.objects.acreate(tenant=extensions["1001"].tenant, name="carrier", host="127.0.0.1",
                                        port=carrier.port, caller_ids="842811\n", default_caller_id="842800")
    await Did.objects.acreate(trunk=trunk, number=DID, target="1001")
    calls = TrunkCalls(service, lambda: board)
    ours.on_incoming = calls.on_incoming
    board = make_board(originators={RouteKind.UNKNOWN: calls.dial_out})
    await service.start()
    await carrier.set_trunks([TrunkConfig("c", "carrier", "to-zorio", "127.0.0.1", ours.port, keepalive_s=0,
                                          dids={CUSTOMER: "far", "+14155551234": "far"},
                                          default_caller_id=CUSTOMER)])

    def phone(number: str) -> Phone:
        ext = extensions[number]
        device = FakeDevice(ext.tenant_id, ext.pk, ext.number, ext.name)
        board.register(device)
        return Phone(board, device)

    yield Setup(board, phone("1001"), phone("1002"), carrier, far, service, trunk)
    for session in list(board.sessions):
        async with session.lock:
            await session.end("hangup")
    await service.close()
    await carrier.close()
    board.heartbeat.stop()


async def far_call(s: Setup) -> SipCall:
    await until(lambda: s.far.incoming)
    return s.far.incoming[-1][0]


def trunk_leg(s: Setup, call_id: str) -> RtpLeg:
    peer = s.board.legs[call_id].session.peer_of(s.board.legs[call_id])
    assert peer is not None and isinstance(peer.media, RtpLeg)
    return peer.media


async def record(uuid: str) -> CallRecord:
    for _ in range(100):
        found = await CallRecord.objects.filter(uuid=uuid, ended_at__isnull=False, sip_code__isnull=False).afirst()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"record {uuid} not closed with its SIP code")


async def test_outbound_rings_answers_relays_g711_holds_both_ways_and_ends_by_the_carriers_bye(s: Setup) -> None:
    a = await s.alice.dial(CUSTOMER, caller_id="842811")
    media = s.alice.media(a)
    assert media.codecs[0] == "pcmu"  # a number only a trunk takes: the browser may answer G.711
    far = await far_call(s)
    assert far.remote_number == "842811" and far.local_number == CUSTOMER  # the allowed caller id asked for
    far.ring()
    await until(lambda: "call.ringing" in s.alice.device.types(a))
    assert media.hears == "ringback"
    await far.answer()
    await until(lambda: "call.answered" in s.alice.device.types(a))
    rtp = trunk_leg(s, a)
    assert media.hears == f"forward<{rtp.id}>" and str(rtp.outbound.source) == f"forward<{a}>"
    assert media.audio_codec == rtp.audio_codec == "pcmu"  # relayed as it is
    # the agent holds: the carrier is re-INVITEd sendonly and hears music
    await s.alice.request("call.hold", a)
    await until(lambda: ("hold", True) in s.far.log)
    assert str(rtp.outbound.source) == "music"
    await s.alice.request("call.unhold", a)
    await until(lambda: ("hold", False) in s.far.log)
    # the carrier holds: the agent is told and hears music
    assert await far.hold()
    await until(lambda: s.alice.device.last("call.held")["by"] == "remote")
    assert media.hears == "music"
    assert await far.unhold()
    await until(lambda: "call.resumed" in s.alice.device.types(a))
    assert media.hears == f"forward<{rtp.id}>"
    await far.hangup()
    await until(lambda: s.alice.ended(a) == "hangup")
    closed = await record(str(s.alice.device.last("call.trying")["uuid"]))
    assert (closed.sip_code, closed.end_reason, closed.direction, closed.to_number) == (200, "hangup", "outgoing",
                                                                                          CUSTOMER)
    assert_board_empty(s.board)


async def test_a_caller_id_the_trunk_does_not_allow_falls_back_to_its_default(s: Setup) -> None:
    a = await s.alice.dial("+14155551234", caller_id="999999")
    far = await far_call(s)
    assert far.remote_number == "842800"
    far.ring()  # a CANCEL needs a provisional response first (RFC 3261 §9.1)
    await until(lambda: "call.ringing" in s.alice.device.types(a))
    await s.alice.request("call.hangup", a)
    await until(lambda: far.state == "ended")
    assert far.end_reason == "cancelled"


@pytest.mark.parametrize(("code", "reason"), [(486, "busy"), (600, "busy"), (480, "no-answer"), (404, "failed"),
                                              (503, "failed"), (603, "rejected")])
async def test_the_carriers_final_code_is_the_end_reason_and_kept_on_the_record(s: Setup, code: int,
                                                                                reason: str) -> None:
    a = await s.alice.dial(CUSTOMER)
    far = await far_call(s)
    far.reject(code)
    await until(lambda: s.alice.ended(a) is not None)
    assert s.alice.ended(a) == reason
    closed = await record(str(s.alice.device.last("call.trying")["uuid"]))
    assert (closed.end_reason, closed.sip_code) == (reason, code)
    assert_board_empty(s.board)


async def test_early_media_is_heard_instead_of_ringback(s: Setup) -> None:
    a = await s.alice.dial(CUSTOMER)
    far = await far_call(s)
    far.ring(early_media=True)  # 183 with SDP
    await until(lambda: "call.ringing" in s.alice.device.types(a))
    rtp = trunk_leg_ringing(s, a)
    await until(lambda: s.alice.media(a).hears == f"forward<{rtp.id}>")
    assert str(rtp.outbound.source) == "silence"  # one way: the carrier does not hear the agent before the answer
    await s.alice.request("call.hangup", a)
    await until(lambda: far.state == "ended")
    assert s.alice.ended(a) == "cancelled"


def trunk_leg_ringing(s: Setup, call_id: str) -> RtpLeg:
    session = s.board.legs[call_id].session
    legs = [leg.media for leg in session.ringing.values() if isinstance(leg.media, RtpLeg)]
    assert legs
    return legs[0]


async def test_digits_both_ways_rfc4733_and_info(s: Setup) -> None:
    a = await s.alice.dial(CUSTOMER)
    far = await far_call(s)
    await far.answer()
    await until(lambda: "call.answered" in s.alice.device.types(a))
    far.send_dtmf("5")  # RFC 4733 from the carrier
    await until(lambda: [f["digit"] for f in s.alice.device.frames if f["type"] == "call.dtmf_received"] == ["5"])
    assert s.alice.media(a).digits_sent == "5"  # regenerated to the agent as events
    await s.alice.request("call.dtmf", a, digits="7#")
    await until(lambda: s.far.log.count(("dtmf", "7")) == 1 and ("dtmf", "#") in s.far.log, timeout_s=10)
    await far.hangup()
    await until(lambda: s.alice.ended(a) == "hangup")


async def test_inbound_did_rings_the_extensions_devices_and_the_answer_is_the_200(s: Setup) -> None:
    second = FakeDevice(s.alice.device.tenant_id, s.alice.device.extension_id, "1001", "Alice")
    s.board.register(second)
    call = await s.carrier.dial("c", DID, caller_id=CUSTOMER, caller_name="Customer")
    s.far.watch(call)
    await until(lambda: "call.incoming" in s.alice.device.types() and "call.incoming" in second.types())
    incoming = s.alice.device.last("call.incoming")
    assert (incoming["from"], incoming["from_name"], incoming["to"]) == (CUSTOMER, "Customer", "1001")
    await until(lambda: ("progress", 183, True) in s.far.log)  # the carrier hears our ringback
    leg = s.alice.incoming()
    assert s.alice.media(leg).codecs[0] == "pcmu"  # offered the trunk's codec first
    await s.alice.request("call.answer", leg, sdp="answer:client")
    await until(lambda: ("answered",) in s.far.log)
    assert second.last("call.ended")["reason"] == "answered-elsewhere"
    rtp = s.board.legs[leg].session.caller
    assert rtp is not None and s.alice.media(leg).hears == f"forward<{rtp.media.id}>"
    await s.alice.request("call.hangup", leg)
    await until(lambda: call.state == "ended")
    closed = await record(incoming["uuid"])
    assert (closed.direction, closed.from_number, closed.from_name, closed.sip_code) == ("incoming", CUSTOMER,
                                                                                         "Customer", 200)
    assert closed.meta == {"did": DID, "trunk": "carrier"}


async def test_inbound_rejected_by_the_agent_is_a_603_and_cancel_ends_it(s: Setup) -> None:
    call = s.far.watch(await s.carrier.dial("c", DID, caller_id=CUSTOMER))
    await until(lambda: "call.incoming" in s.alice.device.types())
    await s.alice.request("call.reject", s.alice.incoming(), code=603)
    await until(lambda: call.state == "ended")
    assert s.far.log[-1] == ("ended", "rejected", 603)
    call = s.far.watch(await s.carrier.dial("c", DID, caller_id=CUSTOMER))
    await until(lambda: len([f for f in s.alice.device.frames if f["type"] == "call.incoming"]) == 2)
    await call.hangup()  # CANCEL
    await until(lambda: s.alice.ended(s.alice.incoming()) == "cancelled")
    closed = await record(s.alice.device.last("call.incoming")["uuid"])
    assert (closed.end_reason, closed.sip_code) == ("cancelled", 487)


async def test_a_did_whose_target_is_no_extension_is_404_not_a_relay(s: Setup) -> None:
    await Did.objects.acreate(trunk=s.trunk, number="+842873000199", target="5555")
    await s.service.reload()
    call = s.far.watch(await s.carrier.dial("c", "+842873000199", caller_id=CUSTOMER))
    await until(lambda: call.state == "ended")
    assert s.far.log[-1] == ("ended", "failed", 404)
    assert not s.far.incoming  # nothing was dialled back out through the trunk


async def answered_by_alice(s: Setup) -> tuple[SipCall, str]:
    """The carrier calls the DID, Alice answers: the carrier's call and Alice's leg."""
    call = s.far.watch(await s.carrier.dial("c", DID, caller_id=CUSTOMER))
    await until(lambda: "call.incoming" in s.alice.device.types())
    leg = s.alice.incoming()
    await s.alice.request("call.answer", leg, sdp="answer:client")
    await until(lambda: ("answered",) in s.far.log)
    return call, leg


async def test_blind_transfer_of_the_trunk_party_to_an_extension(s: Setup) -> None:
    call, a = await answered_by_alice(s)
    rtp = s.board.legs[a].session.caller
    assert rtp is not None
    await s.alice.request("call.transfer", a, target="1002")
    assert s.alice.ended(a) == "transferred"
    await until(lambda: "call.incoming" in s.bob.device.types())
    b = s.bob.incoming()
    assert s.bob.device.last("call.incoming")["from"] == CUSTOMER and s.bob.media(b).codecs[0] == "pcmu"
    await until(lambda: str(rtp.media.outbound.source) == "ringback")  # rung after the offers went out
    await s.bob.request("call.answer", b, sdp="answer:client")
    await until(lambda: s.bob.media(b).hears == f"forward<{rtp.media.id}>")
    assert str(rtp.media.outbound.source) == f"forward<{b}>" and call.state == "confirmed"
    await call.hangup()
    await until(lambda: s.bob.ended(b) == "hangup")
    assert_board_empty(s.board)


async def test_the_carriers_caller_transferred_to_an_outside_number_is_not_dialled_out(s: Setup) -> None:
    """No open relay: a trunk party moved by a transfer never makes the trunk call another number
    (a scenario's call_pstn, the admin's own code, does: tests/trunks/test_live_scenarios.py)."""
    call, a = await answered_by_alice(s)
    with pytest.raises(ProtocolError) as refused:
        await s.alice.request("call.transfer", a, target="+14155551234")
    assert refused.value.code == "invalid_target"
    await asyncio.sleep(0.3)
    assert not s.far.incoming and call.state == "confirmed"  # the carrier was never asked; the call goes on
    await call.hangup()
    await until(lambda: s.alice.ended(a) == "hangup")


async def test_attended_transfer_joins_the_trunk_party_to_an_opus_leg_through_a_transcoder(s: Setup) -> None:
    call, a = await answered_by_alice(s)
    await s.alice.request("call.attended_transfer", a, target="1002")
    await until(lambda: ("hold", True) in s.far.log)  # the carrier is held by re-INVITE while the agent consults
    consult = str(s.alice.device.last("sdp.offer")["call_id"])
    await s.alice.request("sdp.answer", consult, sdp="answer:client")
    await until(lambda: "call.incoming" in s.bob.device.types())
    b = s.bob.incoming()
    assert s.bob.media(b).codecs == ("opus",)  # the consult call is browser to browser
    await s.bob.request("call.answer", b, sdp="answer:client")
    await until(lambda: "call.answered" in s.bob.device.types(b))
    await s.alice.request("call.complete_transfer", a)
    await until(lambda: ("hold", False) in s.far.log)
    rtp = s.board.legs[b].session.caller
    assert rtp is not None and isinstance(rtp.media, RtpLeg)
    # Bob, who consulted with Alice, is told the customer is on the line now, in the joined record
    assert s.bob.device.last("call.party") == {"type": "call.party", "call_id": b, "uuid": str(rtp.session.uuid),
                                               "number": CUSTOMER, "name": rtp.endpoint.name}
    assert s.bob.media(b).hears == f"forward<{rtp.media.id}>" and str(rtp.media.outbound.source) == f"forward<{b}>"
    assert isinstance(s.bob.media(b), FakeMedia) and s.bob.media(b).audio_codec == "opus" != rtp.media.audio_codec
    await call.hangup()
    await until(lambda: s.bob.ended(b) == "hangup")


async def test_outside_callers_sharing_one_number_are_not_held_to_an_extensions_limit(s: Setup) -> None:
    """Many callers may present one number (withheld, a company's switchboard): only the tenant's
    limit counts their calls; each DID target keeps its own limit when it rings."""
    tenant = s.trunk.tenant
    await type(tenant).objects.filter(pk=tenant.pk).aupdate(max_calls_per_extension=1)
    await Did.objects.acreate(trunk=s.trunk, number="+842873000102", target="1002")
    await s.service.reload()
    first = s.far.watch(await s.carrier.dial("c", DID, caller_id=CUSTOMER))
    second = s.far.watch(await s.carrier.dial("c", "+842873000102", caller_id=CUSTOMER))
    await until(lambda: "call.incoming" in s.alice.device.types() and "call.incoming" in s.bob.device.types())
    third = s.far.watch(await s.carrier.dial("c", DID, caller_id="0900000003"))
    await until(lambda: third.state == "ended")
    assert third.end_reason == "busy"  # 1001 is ringing already: its own limit of one call
    for call in (first, second):
        await call.hangup()


async def test_a_trunk_changed_during_a_call_keeps_that_call(s: Setup) -> None:
    a = await s.alice.dial(CUSTOMER)
    far = await far_call(s)
    await far.answer()
    await until(lambda: "call.answered" in s.alice.device.types(a))
    await Trunk.objects.filter(pk=s.trunk.pk).aupdate(default_caller_id="842899")
    await s.service.reload()  # the new configuration is for the next calls
    assert s.alice.ended(a) is None and far.state == "confirmed"
    await s.alice.request("call.hold", a)
    await until(lambda: ("hold", True) in s.far.log)  # the call still talks through its agent
    await s.alice.request("call.hangup", a)
    await until(lambda: far.state == "ended")
    assert not s.service.ua._retired
    b = await s.alice.dial(CUSTOMER)
    assert (await far_call_after(s, far)).remote_number == "842899"
    await s.alice.request("call.hangup", b)


async def far_call_after(s: Setup, previous: SipCall) -> SipCall:
    await until(lambda: s.far.incoming[-1][0] is not previous)
    return s.far.incoming[-1][0]


async def test_the_agent_mutes_the_trunk_party_hears_silence(s: Setup) -> None:
    a = await s.alice.dial(CUSTOMER)
    far = await far_call(s)
    await far.answer()
    await until(lambda: "call.answered" in s.alice.device.types(a))
    rtp = trunk_leg(s, a)
    await s.alice.request("call.mute", a)
    assert str(rtp.outbound.source) == "silence" and s.alice.media(a).hears == f"forward<{rtp.id}>"
    await s.alice.request("call.unmute", a)
    assert str(rtp.outbound.source) == f"forward<{a}>"
    await far.hangup()
    await until(lambda: s.alice.ended(a) == "hangup")


async def test_a_quick_hold_and_unhold_both_reach_the_carrier_in_order(s: Setup) -> None:
    """The unhold is asked for while the hold's re-INVITE is still in flight: it waits for it,
    and is not dropped (the customer would stay on hold music while the agent talks)."""
    _, a = await answered_by_alice(s)
    await s.alice.request("call.hold", a)
    await s.alice.request("call.unhold", a)  # at once: the hold re-INVITE has no answer yet
    await until(lambda: ("hold", False) in s.far.log)
    assert [entry for entry in s.far.log if entry[0] == "hold"] == [("hold", True), ("hold", False)]
    assert str(trunk_leg(s, a).outbound.source) == f"forward<{a}>"
