"""In-call control through a live server with real aiortc peers (issue 4): hold with music, mute,
DTMF both ways, blind and attended transfer, call waiting and swap, re-attach and media replace."""

import asyncio

import pytest

from tests.calls.conftest import CALLEE_HZ, CALLER_HZ, connect_pair, near
from tests.live import LiveServer
from zorio_widget.client.audio import without_telephone_event
from zorio_widget.media import aiortc_hook

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

CAROL_HZ = 1250.0


def hears(hz: float, min_rms: float = 0.05):
    return lambda p: p.rms() > min_rms and near(p.dominant_hz(), hz)


def silent(p) -> bool:
    return p.rms() < 0.005


async def connected(phone, caller_ext: str = "1001", callee_ext: str = "1002", callee_rfc4733: bool = True):
    """A connected call; `callee_rfc4733=False`: the callee's answer carries no telephone-event."""
    alice, bob, call, incoming = await connect_pair(phone, caller_ext, callee_ext)
    if not callee_rfc4733:
        incoming = {**incoming, "sdp": without_telephone_event(incoming["sdp"])}
    answered = await bob.answer(incoming, CALLEE_HZ)
    await call.expect("call.answered")
    await answered.expect("call.answered")
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    return alice, bob, call, answered


async def test_hold_plays_music_to_the_held_party_and_stops_the_holder(phone) -> None:
    alice, bob, call, answered = await connected(phone)
    await answered.send("call.hold")
    assert (await answered.expect("call.held"))["by"] == "local"
    assert (await call.expect("call.held"))["by"] == "remote"
    # The held party hears music: energy, and not the holder's tone.
    assert await call.probe.wait_for(lambda p: p.rms() > 0.01 and not near(p.dominant_hz(), CALLEE_HZ))
    assert await answered.probe.wait_for(silent)  # the holder hears nothing either
    reply = await bob.request({"type": "call.hold", "call_id": answered.call_id}, "call.held")
    assert reply["code"] == "invalid_state"
    reply = await alice.request({"type": "call.unhold", "call_id": call.call_id}, "call.resumed")
    assert reply["code"] == "invalid_state"
    await answered.send("call.unhold")
    assert (await answered.expect("call.resumed"))["by"] == "local"
    assert (await call.expect("call.resumed"))["by"] == "remote"
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    assert await answered.probe.wait_for(hears(CALLER_HZ))
    await call.hangup()


async def test_mute_is_enforced_by_the_server(phone) -> None:
    alice, bob, call, answered = await connected(phone)
    await call.send("call.mute")
    await call.expect("call.muted")
    # Alice's client keeps sending its tone; Bob must hear silence.
    assert await answered.probe.wait_for(silent)
    assert await call.probe.wait_for(hears(CALLEE_HZ))  # Alice still hears Bob
    reply = await alice.request({"type": "call.mute", "call_id": call.call_id}, "call.muted")
    assert reply["code"] == "invalid_state"
    await call.send("call.unmute")
    await call.expect("call.unmuted")
    assert await answered.probe.wait_for(hears(CALLER_HZ))
    await call.hangup()


async def test_dtmf_by_signalling_reaches_the_far_side_as_rfc4733_events_in_order(phone) -> None:
    # The callee negotiates telephone-event (aiortc_hook registers it for this process's peers).
    aiortc_hook.install()
    alice, bob, call, answered = await connected(phone)
    answered.probe.watch_telephone_events(answered.pc.getReceivers()[0])
    answered.probe.detect_dtmf()
    reply = await alice.request({"type": "call.dtmf", "call_id": call.call_id, "digits": "12x"}, "call.dtmf_received")
    assert reply["code"] == "invalid_dtmf"
    for bad in ("1\n", "\n", "1 ", "\u0661"):  # `$` would match before a trailing newline
        reply = await alice.request({"type": "call.dtmf", "call_id": call.call_id, "digits": bad},
                                    "call.dtmf_received")
        assert reply["type"] == "error" and reply["code"] == "invalid_dtmf", (bad, reply)
    await call.send("call.dtmf", digits="159#")
    for digit in "159#":
        assert (await call.expect("call.dtmf_received"))["digit"] == digit
        assert (await answered.expect("call.dtmf_received"))["digit"] == digit
    assert await answered.probe.wait_for(lambda p: "".join(p.event_digits) == "159#", timeout_s=10)
    events = answered.probe.events
    assert {(p.clock_rate, p.payload_type) for p in events} == {(8000, events[0].payload_type)}
    assert sum(p.marker for p in events) == 4 and len(events) == 4 * 7  # 5 packets + 2 end repeats each
    assert await answered.probe.wait_for(hears(CALLER_HZ))  # the relay resumes
    assert answered.probe.digits == []  # events, not tones
    await call.hangup()


async def test_dtmf_by_signalling_reaches_a_far_side_without_rfc4733_as_tones_in_order(phone) -> None:
    alice, bob, call, answered = await connected(phone, callee_rfc4733=False)
    answered.probe.detect_dtmf()
    await call.send("call.dtmf", digits="159#")
    for digit in "159#":
        assert (await call.expect("call.dtmf_received"))["digit"] == digit
        assert (await answered.expect("call.dtmf_received"))["digit"] == digit
    assert await answered.probe.wait_for(lambda p: "".join(p.digits) == "159#", timeout_s=10)
    await call.hangup()


async def test_inband_dtmf_from_a_client_is_detected_by_the_bridge(phone) -> None:
    alice, bob = await phone("1001"), await phone("1002")
    call = await alice.call("1002", CALLER_HZ, options={"inband_dtmf": True})
    answered = await bob.answer(await bob.expect("call.incoming"), CALLEE_HZ)
    await call.expect("call.answered")
    await asyncio.sleep(0.5)
    answered.tone.play_digits("47*")
    for digit in "47*":
        assert (await call.expect("call.dtmf_received", timeout_s=8))["digit"] == digit
        assert (await answered.expect("call.dtmf_received", timeout_s=8))["digit"] == digit
    await call.hangup()


async def test_blind_transfer_moves_the_other_party(phone, daphne_server: LiveServer) -> None:
    alice, bob, call, answered = await connected(phone)
    carol = await phone("1003")
    await answered.send("call.transfer", target="1003")
    assert (await answered.expect("call.ended"))["reason"] == "transferred"
    await call.expect("call.ringing")
    ring = await carol.expect("call.incoming")
    assert ring["from"] == "1001" and ring["to"] == "1003" and ring["uuid"] != call.uuid
    carol_call = await carol.answer(ring, CAROL_HZ)
    await call.expect("call.answered")
    assert await call.probe.wait_for(hears(CAROL_HZ))
    assert await carol_call.probe.wait_for(hears(CALLER_HZ))
    await carol_call.hangup()
    assert (await call.expect("call.ended"))["reason"] == "hangup"
    history = daphne_server.get_json("/api/webphone/calls", daphne_server.token("1002"))
    original = next(r for r in history["results"] if r["uuid"] == call.uuid)
    assert original["end_reason"] == "transferred" and original["transferred_to"] == "1003"
    history = daphne_server.get_json("/api/webphone/calls", daphne_server.token("1003"))
    moved = next(r for r in history["results"] if r["uuid"] == ring["uuid"])
    assert moved["options"]["meta"]["transferred_from"] == call.uuid and moved["end_reason"] == "hangup"


async def test_transfer_to_unknown_or_unavailable_target_keeps_the_call(phone) -> None:
    alice, bob, call, answered = await connected(phone)
    for target, code in (("5559999", "invalid_target"), ("1004", "busy"), ("no way", "invalid_target"),
                         ("1001", "invalid_target")):
        reply = await bob.request({"type": "call.transfer", "call_id": answered.call_id, "target": target},
                                  "call.ended")
        assert reply["type"] == "error" and reply["code"] == code, (target, reply)
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    assert await answered.probe.wait_for(hears(CALLER_HZ))
    await call.hangup()
    assert (await answered.expect("call.ended"))["reason"] == "hangup"


async def _consult(bob, answered, target: str):
    trying = await bob.request({"type": "call.attended_transfer", "call_id": answered.call_id, "target": target},
                               "call.trying")
    assert trying["type"] == "call.trying", trying
    offer = await bob.expect("sdp.offer", call_id=trying["call_id"])
    return await bob.accept_offer(trying["call_id"], trying["uuid"], offer["sdp"], 990.0)


async def test_attended_transfer_success(phone) -> None:
    alice, bob, call, answered = await connected(phone)
    carol = await phone("1003")
    consult = await _consult(bob, answered, "1003")
    assert (await call.expect("call.held"))["by"] == "remote"
    assert (await answered.expect("call.held"))["by"] == "local"
    await consult.expect("call.ringing")
    ring = await carol.expect("call.incoming")
    assert ring["from"] == "1002"
    carol_call = await carol.answer(ring, CAROL_HZ)
    await consult.expect("call.answered")
    assert await consult.probe.wait_for(hears(CAROL_HZ))  # Bob talks to Carol ...
    assert await call.probe.wait_for(lambda p: p.rms() > 0.01 and not near(p.dominant_hz(), CALLEE_HZ))
    await answered.send("call.complete_transfer")
    assert (await answered.expect("call.ended"))["reason"] == "transferred"
    assert (await consult.expect("call.ended"))["reason"] == "transferred"
    await call.expect("call.resumed")
    assert await call.probe.wait_for(hears(CAROL_HZ))  # ... and now Alice talks to Carol
    assert await carol_call.probe.wait_for(hears(CALLER_HZ))
    await call.hangup()
    assert (await carol_call.expect("call.ended"))["reason"] == "hangup"


async def test_attended_transfer_consult_failure_resumes_the_original(phone) -> None:
    alice, bob, call, answered = await connected(phone)
    carol = await phone("1003")
    consult = await _consult(bob, answered, "1003")
    ring = await carol.expect("call.incoming")
    reply = await bob.request({"type": "call.complete_transfer", "call_id": answered.call_id}, "call.ended")
    assert reply["code"] == "invalid_state"  # the consult call is not answered yet
    await carol.send({"type": "call.reject", "call_id": ring["call_id"], "code": 603})
    assert (await consult.expect("call.ended"))["reason"] == "rejected"
    assert (await answered.expect("call.resumed"))["by"] == "local"
    assert (await call.expect("call.resumed"))["by"] == "remote"
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    assert await answered.probe.wait_for(hears(CALLER_HZ))
    await call.hangup()


async def test_call_waiting_hold_answer_and_swap(phone) -> None:
    alice, bob, call, answered = await connected(phone)
    carol = await phone("1003")
    carol_call = await carol.call("1002", CAROL_HZ)
    waiting = await bob.expect("call.incoming")
    await answered.send("call.hold")
    await answered.expect("call.held")
    second = await bob.answer(waiting, 770.0)
    await carol_call.expect("call.answered")
    assert await second.probe.wait_for(hears(CAROL_HZ))
    assert await call.probe.wait_for(lambda p: p.rms() > 0.01 and not near(p.dominant_hz(), CALLEE_HZ))
    # Swap back: hold Carol, resume Alice.
    await second.send("call.hold")
    await second.expect("call.held")
    await answered.send("call.unhold")
    await answered.expect("call.resumed")
    assert await answered.probe.wait_for(hears(CALLER_HZ))
    assert await carol_call.probe.wait_for(lambda p: p.rms() > 0.01 and not near(p.dominant_hz(), 770.0))
    await call.hangup()
    await carol_call.hangup()


async def test_reattach_within_grace_then_control_again(phone, daphne_server: LiveServer) -> None:
    alice, bob, call, answered = await connected(phone)
    await bob.ws.close()  # Bob's socket drops; his peer connection (media) keeps running
    await asyncio.sleep(0.5)
    bob2 = await phone("1002")
    registered = bob2.history[0]
    assert [c["call_id"] for c in registered["calls"]] == [answered.call_id]
    summary = registered["calls"][0]
    assert summary["state"] == "answered" and summary["number"] == "1001" and summary["direction"] == "incoming"
    assert await call.probe.wait_for(hears(CALLEE_HZ))  # media never stopped
    await bob2.send({"type": "call.mute", "call_id": answered.call_id})
    await bob2.expect("call.muted", call_id=answered.call_id)
    assert await call.probe.wait_for(silent)
    # The media path broke too (network change): a fresh peer connection replaces the leg.
    answered.client = bob2
    await bob2.replace_media(answered, CALLEE_HZ)
    await bob2.send({"type": "call.unmute", "call_id": answered.call_id})
    await bob2.expect("call.unmuted")
    assert await answered.probe.wait_for(hears(CALLER_HZ))
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    await asyncio.sleep(float(daphne_server.env["REATTACH_GRACE_S"]) + 0.5)  # past the grace: still up
    await answered.send("call.hangup")
    assert (await call.expect("call.ended"))["reason"] == "hangup"


async def test_reattach_after_grace_finds_the_call_ended(phone, daphne_server: LiveServer) -> None:
    alice, bob, call, answered = await connected(phone)
    await bob.ws.close()
    assert (await call.expect("call.ended", timeout_s=15))["reason"] == "hangup"
    bob2 = await phone("1002")
    assert bob2.history[0]["calls"] == []
    history = daphne_server.get_json("/api/webphone/calls", daphne_server.token("1002"))
    assert next(r for r in history["results"] if r["uuid"] == call.uuid)["end_reason"] == "hangup"


async def test_client_reoffer_sendonly_holds_and_sendrecv_resumes(phone) -> None:
    from aiortc import RTCSessionDescription

    alice, bob, call, answered = await connected(phone)
    for direction, event, by_local, by_remote in (("sendonly", "call.held", "local", "remote"),
                                                  ("sendrecv", "call.resumed", "local", "remote")):
        answered.pc.getTransceivers()[0].direction = direction
        await answered.pc.setLocalDescription(await answered.pc.createOffer())
        reply = await bob.request({"type": "sdp.offer", "call_id": answered.call_id,
                                   "sdp": answered.pc.localDescription.sdp}, "sdp.answer")
        assert reply["type"] == "sdp.answer", reply
        await answered.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        assert (await answered.expect(event))["by"] == by_local
        assert (await call.expect(event))["by"] == by_remote
        if direction == "sendonly":
            assert await call.probe.wait_for(lambda p: p.rms() > 0.01 and not near(p.dominant_hz(), CALLEE_HZ))
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    reply = await bob.request({"type": "sdp.offer", "call_id": answered.call_id, "sdp": "v=0 junk"}, "sdp.answer")
    assert reply["code"] == "bad_sdp"
    assert await call.probe.wait_for(hears(CALLEE_HZ))  # a bad re-offer changes nothing
    await call.hangup()


async def test_three_drops_each_get_their_own_grace(phone, daphne_server: LiveServer) -> None:
    """A second drop must not be ended by the first drop's grace timer (security finding 6)."""
    grace_s = float(daphne_server.env["REATTACH_GRACE_S"])
    alice, bob, call, answered = await connected(phone)
    client = bob
    for _ in range(3):
        await client.ws.close()  # the drop: a grace timer starts
        await asyncio.sleep(grace_s * 0.4)
        client = await phone("1002")  # re-attach within that drop's grace
        assert [c["call_id"] for c in client.history[0]["calls"]] == [answered.call_id]
        await asyncio.sleep(grace_s * 0.4)  # the next drop comes before the first grace would have ended
    await asyncio.sleep(grace_s + 0.5)  # every earlier grace is long past: the call is still up
    assert not [f for f in call.client.history if f.get("type") == "call.ended"]
    answered.client = client
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    await answered.send("call.hangup")
    assert (await call.expect("call.ended"))["reason"] == "hangup"


async def test_an_oversize_frame_is_refused_and_the_calls_on_that_socket_survive(phone) -> None:
    """Security finding 7: up to the transport's limit (1 MiB) a big frame is `bad_request` on an
    open socket; past it the server closes with 1009 naming the limit (not a bare TCP drop), and
    the socket's connected call waits out the re-attach grace like after any drop."""
    alice, bob, call, answered = await connected(phone)
    await bob.send({"type": "ping", "pad": "x" * 200_000})
    reply = await bob.expect("error")
    assert reply["code"] == "bad_request" and "65536" in reply["message"]
    assert (await bob.request({"type": "ping"}, "pong"))["type"] == "pong"
    await bob.send({"type": "ping", "pad": "x" * (2 * 1024 * 1024)})
    await asyncio.wait_for(bob._reader, 10)
    assert bob.ws.close_code == 1009 and "1048576" in (bob.ws.close_reason or ""), (bob.ws.close_code,
                                                                                      bob.ws.close_reason)
    bob2 = await phone("1002")
    assert [c["call_id"] for c in bob2.history[0]["calls"]] == [answered.call_id]
    assert await call.probe.wait_for(hears(CALLEE_HZ))
    await call.hangup()
    assert (await bob2.expect("call.ended", call_id=answered.call_id))["reason"] == "hangup"
