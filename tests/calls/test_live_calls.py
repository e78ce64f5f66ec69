"""Calls through a live Daphne server with real aiortc client peers and real audio.

Each client sends a sine of its own frequency; each side must hear the OTHER side's frequency
with real energy, which proves the bridge relays (not echoes, not silence).
"""

import asyncio
import json

import pytest
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.calls.conftest import CALLEE_HZ, CALLER_HZ, ORIGIN, connect_pair, near
from tests.live import LiveServer, manage
from zorio_widget.client import PhoneClient
from zorio_widget.client.audio import ToneTrack

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]

async def test_call_between_two_extensions_carries_audio_both_ways(phone, daphne_server: LiveServer) -> None:
    alice, bob, call, incoming = await connect_pair(phone)
    assert incoming["from"] == "1001" and incoming["from_name"] == "Alice" and incoming["to"] == "1002"
    assert incoming["uuid"] == call.uuid
    # Early media: the caller hears ringback (425 Hz) from the bridge while the callee rings.
    assert await call.probe.wait_for(lambda p: p.rms() > 0.01 and near(p.dominant_hz(), 425))
    answered = await bob.answer(incoming, CALLEE_HZ)
    await call.expect("call.answered")
    await answered.expect("call.answered")
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLEE_HZ))
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ))
    await call.hangup()
    assert (await call.expect("call.ended"))["reason"] == "hangup"
    assert (await answered.expect("call.ended"))["reason"] == "hangup"
    history = daphne_server.get_json("/api/webphone/calls", daphne_server.token("1001"))
    record = next(r for r in history["results"] if r["uuid"] == call.uuid)
    assert record["end_reason"] == "hangup" and record["answered_at"] and record["duration"] > 0
    assert record["direction"] == "outgoing" and record["to"] == "1002"


async def test_seed_raw_websocket_example_step_by_step(daphne_server: LiveServer) -> None:
    """The seed's example, written with nothing but websockets + aiortc, as a partner would."""
    bob = await PhoneClient.connect(daphne_server.ws_url, daphne_server.token("1002"), origin=ORIGIN)
    await bob.registered()
    async with websockets.connect(daphne_server.ws_url, additional_headers={"Origin": ORIGIN}) as ws:
        await ws.send(json.dumps({"type": "auth", "token": daphne_server.token("1001")}))
        assert json.loads(await ws.recv())["type"] == "registered"
        pc = RTCPeerConnection()
        pc.addTrack(ToneTrack(CALLER_HZ))
        await pc.setLocalDescription(await pc.createOffer())
        await ws.send(json.dumps({"type": "call.create", "req_id": "1", "destination": "1002",
                                  "sdp": pc.localDescription.sdp, "options": {"campaign_id": "spring"}}))
        trying = json.loads(await ws.recv())
        assert trying["type"] == "call.trying" and trying["req_id"] == "1"
        call_id = trying["call_id"]
        answer = json.loads(await ws.recv())
        assert answer["type"] == "sdp.answer" and answer["call_id"] == call_id
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        seen = []
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            seen.append(frame["type"])
            if frame["type"] == "call.ringing":
                break
            assert frame["type"] == "ice.candidate" and frame["candidate"].startswith("candidate:")
        incoming = await bob.expect("call.incoming")
        await bob.answer(incoming, CALLEE_HZ)
        answered = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert answered == {"type": "call.answered", "call_id": call_id}
        await ws.send(json.dumps({"type": "call.hangup", "call_id": call_id}))
        ended = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ended == {"type": "call.ended", "call_id": call_id, "reason": "hangup"}
        await pc.close()
    await bob.close()


async def test_echo_service_plays_your_own_audio_back(phone) -> None:
    alice = await phone("1001")
    call = await alice.call("*43", CALLER_HZ)
    await call.expect("call.answered")
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ))
    await call.hangup()
    assert (await call.expect("call.ended"))["reason"] == "hangup"


async def test_music_service_plays_audio(phone) -> None:
    alice = await phone("1001")
    call = await alice.call("*44", None)
    await call.expect("call.answered")
    assert await call.probe.wait_for(lambda p: p.rms() > 0.01)


async def test_unknown_number_fails(phone) -> None:
    alice = await phone("1001")
    call = await alice.call("5550000", CALLER_HZ)
    assert (await call.expect("call.ended"))["reason"] == "failed"


async def test_callee_rejects_busy_and_decline(phone) -> None:
    for code, reason in ((486, "busy"), (603, "rejected")):
        alice, bob, call, incoming = await connect_pair(phone)
        await bob.send({"type": "call.reject", "call_id": incoming["call_id"], "code": code})
        assert (await call.expect("call.ended"))["reason"] == reason
        assert (await bob.expect("call.ended", call_id=incoming["call_id"]))["reason"] == reason


async def test_answering_an_outgoing_call_is_not_incoming(phone) -> None:
    alice, bob, call, incoming = await connect_pair(phone)
    reply = await alice.request({"type": "call.answer", "call_id": call.call_id, "sdp": "v=0"}, "call.answered")
    assert reply["code"] == "not_incoming" and reply["call_id"] == call.call_id
    reply = await bob.request({"type": "call.hangup", "call_id": call.call_id}, "call.ended")
    assert reply["code"] == "forbidden"
    await call.hangup()
    assert (await bob.expect("call.ended"))["reason"] == "cancelled"


async def test_caller_cancel_stops_every_ringing_device(phone) -> None:
    alice, bob = await phone("1001"), await phone("1002")
    bob_tab2 = await phone("1002")
    call = await alice.call("1002", CALLER_HZ)
    await bob.expect("call.incoming")
    await bob_tab2.expect("call.incoming")
    await call.expect("call.ringing")
    await call.hangup()
    assert (await call.expect("call.ended"))["reason"] == "cancelled"
    assert (await bob.expect("call.ended"))["reason"] == "cancelled"
    assert (await bob_tab2.expect("call.ended"))["reason"] == "cancelled"


async def test_forked_ringing_first_answer_wins(phone) -> None:
    alice, bob = await phone("1001"), await phone("1002")
    bob_tab2 = await phone("1002")
    call = await alice.call("1002", CALLER_HZ)
    ring1, ring2 = await bob.expect("call.incoming"), await bob_tab2.expect("call.incoming")
    assert ring1["uuid"] == ring2["uuid"] == call.uuid and ring1["call_id"] != ring2["call_id"]
    answered = await bob_tab2.answer(ring2, CALLEE_HZ)
    await call.expect("call.answered")
    assert (await bob.expect("call.ended", call_id=ring1["call_id"]))["reason"] == "answered-elsewhere"
    reply = await bob.request({"type": "call.answer", "call_id": ring1["call_id"], "sdp": "v=0"}, "call.answered")
    assert reply["code"] == "unknown_call"
    assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ))
    await answered.hangup()
    assert (await call.expect("call.ended"))["reason"] == "hangup"


async def test_no_answer_after_ring_timeout(phone) -> None:
    alice, bob, call, incoming = await connect_pair(phone)
    assert (await call.expect("call.ended", timeout_s=10))["reason"] == "no-answer"
    assert (await bob.expect("call.ended", timeout_s=10))["reason"] == "no-answer"


async def test_busy_when_call_waiting_is_off(phone, daphne_server: LiveServer) -> None:
    manage(daphne_server, "shell", "-c",
           "from zorio_widget.tenants.models import Extension;"
           "Extension.objects.filter(tenant__slug='demo', number='1004').update(call_waiting=False)")
    alice, dave, call, incoming = await connect_pair(phone, "1001", "1004")
    await dave.answer(incoming, CALLEE_HZ)
    await call.expect("call.answered")
    carol = await phone("1003")
    second = await carol.call("1004", 550.0)
    assert (await second.expect("call.ended"))["reason"] == "busy"
    assert not [f for f in dave.inbox if f["type"] == "call.incoming"]
    await call.hangup()


async def test_call_waiting_rings_a_busy_extension(phone) -> None:
    alice, bob, call, incoming = await connect_pair(phone)
    await bob.answer(incoming, CALLEE_HZ)
    await call.expect("call.answered")
    carol = await phone("1003")
    second = await carol.call("1002", 550.0)
    waiting = await bob.expect("call.incoming")
    assert waiting["from"] == "1003" and waiting["uuid"] == second.uuid
    await second.hangup()
    assert (await bob.expect("call.ended", call_id=waiting["call_id"]))["reason"] == "cancelled"
    await call.hangup()


async def test_websocket_drop_mid_call_closes_the_record(phone, daphne_server: LiveServer) -> None:
    alice, bob, call, incoming = await connect_pair(phone)
    answered = await bob.answer(incoming, CALLEE_HZ)
    await call.expect("call.answered")
    await answered.expect("call.answered")
    await alice.ws.close()  # the caller's socket dies mid-call
    grace_s = float(daphne_server.env.get("REATTACH_GRACE_S", "30"))
    ended = await answered.expect("call.ended", timeout_s=grace_s + 10)
    assert ended["reason"] == "hangup"
    history = daphne_server.get_json("/api/webphone/calls", daphne_server.token("1002"))
    record = next(r for r in history["results"] if r["uuid"] == call.uuid)
    assert record["end_reason"] == "hangup" and record["ended_at"] and record["direction"] == "incoming"


async def test_options_are_stored_on_the_record(phone, daphne_server: LiveServer) -> None:
    alice = await phone("1001")
    options = {"campaign_id": "c-7", "lead_id": "L1", "customer_id": "K9", "recording": True,
               "caller_name": "Support line", "meta": {"ticket": 42}}
    call = await alice.call("*43", CALLER_HZ, options=options)
    await call.expect("call.answered")
    await call.hangup()
    await call.expect("call.ended")
    history = daphne_server.get_json("/api/webphone/calls", daphne_server.token("1001"))
    record = next(r for r in history["results"] if r["uuid"] == call.uuid)
    assert record["options"] == {**options, "meta": {"ticket": 42}}
    assert record["to"] == "*43" and record["end_reason"] == "hangup"


@pytest.mark.parametrize("candidate", [
    "garbage",
    "candidate:1 1 udp 2122260223 1.2.3.4 99999999 typ host",
    "candidate:1 1 udp 2122260223 ::::: 5000 typ host",
    "candidate:1 1 udp 2122260223 1.2.3.4 5000 typ bogus",
    "candidate:1 1 sctp 2122260223 1.2.3.4 5000 typ host",
    "candidate:1 1 udp 99999999999 1.2.3.4 5000 typ host",
    "candidate:x;y 1 udp 1 1.2.3.4 5000 typ host",
    "candidate:1 1 udp 2122260223 evil.example.com 5000 typ host",
])
async def test_unusable_ice_candidates_get_bad_sdp_and_the_call_stays_up(phone, candidate: str) -> None:
    """Security finding 10: aiortc's parser accepts these; the bridge must refuse them up front."""
    alice = await phone("1001")
    call = await alice.call("*43", CALLER_HZ)
    await call.expect("call.answered")
    await call.send("ice.candidate", candidate=candidate, sdp_mid="0")
    reply = await call.expect("error")
    assert reply["code"] == "bad_sdp", reply
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ))
    await call.hangup()
    assert (await call.expect("call.ended"))["reason"] == "hangup"
