"""Browsers calling out through a trunk, with SIPp as the carrier (live server, real aiortc peers).

SIPp checks the carrier's side itself (each scenario's messages in order, nothing unexpected:
``Sipp.finish``); the browser's side is checked on what its aiortc peer decodes (the tone's
frequency) and on its frames; the record through the REST API."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

import pytest

from tests.sip.test_sipp_uac import write_mulaw_wav
from tests.trunks.live import TrunkLab, near
from zorio_widget.media import aiortc_hook

pytestmark = pytest.mark.timeout(180)
CALLER_HZ, CARRIER_HZ = 440.0, 770.0


def heard(hz: float):
    return lambda p: p.rms() > 0.05 and near(p.dominant_hz(), hz)


@pytest.mark.parametrize(("number", "options"), [("0912345678", {"campaign_id": "36"}), ("+14155551234", None)])
async def test_the_seeds_calls_reach_the_carrier_and_hear_themselves_through_the_echo(
        lab: TrunkLab, number: str, options: dict | None) -> None:
    """`phone.call('0912345678', {campaignId: 36})` and `phone.call('+14155551234')`: INVITE to the
    carrier, ringing, answer, G.711 relayed both ways (SIPp echoes our RTP: the browser hears its
    own tone), the record keeps 200."""
    sipp = await lab.carrier("carrier_echo.xml")
    alice = await lab.phone("1001")
    call = await alice.call(number, CALLER_HZ, options=options)
    await call.expect("call.ringing", timeout_s=10)
    await call.expect("call.answered", timeout_s=10)
    m_line = call.pc.remoteDescription.sdp.split("m=audio ", 1)[1].split("\r\n", 1)[0].split()
    assert m_line[2] == "0"  # the server answered the browser with PCMU (payload type 0) first
    assert call.probe is not None and await call.probe.wait_for(heard(CALLER_HZ), timeout_s=10)
    await call.hangup()
    await call.expect("call.ended")
    await sipp.finish()
    invite = sipp.messages.read_text().split("INVITE sip:", 1)[1]
    assert invite.startswith(f"{number}@127.0.0.1")
    record = await lab.record(call.uuid)
    assert record["sip_code"] == 200 and record["end_reason"] == "hangup" and record["direction"] == "outgoing"
    assert record["to"] == number
    if options:
        assert record["options"]["campaign_id"] == "36"


async def test_early_media_from_the_carrier_is_heard_before_the_answer(lab: TrunkLab, tmp_path: Path) -> None:
    wav = tmp_path / "announcement.wav"
    write_mulaw_wav(wav, CARRIER_HZ, 6.0)
    sipp = await lab.carrier("carrier_early_media.xml", template={"WAV": str(wav)}, rtp_echo=False)
    alice = await lab.phone("1001")
    call = await alice.call("0912345678", CALLER_HZ)
    await call.expect("call.ringing", timeout_s=10)
    assert call.probe is not None and await call.probe.wait_for(heard(CARRIER_HZ), timeout_s=5)
    assert not [f for f in alice.inbox if f["type"] == "call.answered"], "heard only after the answer"
    await call.expect("call.answered", timeout_s=10)
    await call.hangup()
    await sipp.finish()


@pytest.mark.parametrize(("code", "phrase", "reason"), [
    ("486", "Busy Here", "busy"), ("480", "Temporarily Unavailable", "no-answer"),
    ("404", "Not Found", "failed"), ("503", "Service Unavailable", "failed"), ("603", "Decline", "rejected"),
])
async def test_the_carriers_refusal_ends_the_call_with_its_reason_and_code(lab: TrunkLab, code: str, phrase: str,
                                                                           reason: str) -> None:
    sipp = await lab.carrier("uas_reject.xml", template={"CODE": code, "REASON": phrase}, rtp_echo=False)
    alice = await lab.phone("1001")
    call = await alice.call("0912345678", CALLER_HZ)
    ended = await call.expect("call.ended", timeout_s=10)
    assert ended["reason"] == reason
    await sipp.finish()
    record = await lab.record(call.uuid)
    assert (record["end_reason"], record["sip_code"]) == (reason, int(code))


async def test_hold_and_unhold_are_re_invites_to_the_carrier(lab: TrunkLab) -> None:
    """SIPp requires a=sendonly in the first re-INVITE and a=sendrecv in the second."""
    sipp = await lab.carrier("uas_hold.xml")
    alice = await lab.phone("1001")
    call = await alice.call("0912345678", CALLER_HZ)
    await call.expect("call.answered", timeout_s=10)
    assert call.probe is not None and await call.probe.wait_for(heard(CALLER_HZ), timeout_s=10)
    await call.send("call.hold")
    assert (await call.expect("call.held"))["by"] == "local"
    assert await call.probe.wait_for(lambda p: p.rms() < 0.01, timeout_s=5)  # the holder hears nothing
    await call.send("call.unhold")
    await call.expect("call.resumed")
    assert await call.probe.wait_for(heard(CALLER_HZ), timeout_s=10)
    await call.hangup()
    await sipp.finish()


async def test_dtmf_goes_to_the_carrier_as_rfc4733_and_comes_back_through_the_echo(lab: TrunkLab) -> None:
    """The echo returns our telephone-event packets: the server reads them as the carrier's digits,
    so what reached the carrier was a well-formed RFC 4733 event on the negotiated payload type."""
    aiortc_hook.install()  # this browser negotiates telephone-event (process-wide, before its offer)
    sipp = await lab.carrier("carrier_echo.xml")
    alice = await lab.phone("1001")
    call = await alice.call("0912345678", CALLER_HZ)
    await call.expect("call.answered", timeout_s=10)
    assert call.probe is not None
    call.probe.watch_telephone_events(call.pc.getTransceivers()[0].receiver)
    await call.send("call.dtmf", digits="5")
    assert (await call.expect("call.dtmf_received"))["digit"] == "5"  # our own request, reported
    assert (await call.expect("call.dtmf_received", timeout_s=5))["digit"] == "5"  # the carrier's side
    assert await call.probe.wait_for(lambda p: p.event_digits == ["5"], timeout_s=5)
    await call.hangup()
    await sipp.finish()


async def test_a_digit_by_sip_info_and_the_carriers_bye(lab: TrunkLab) -> None:
    sipp = await lab.carrier("carrier_info_bye.xml")
    alice = await lab.phone("1001")
    call = await alice.call("0912345678", CALLER_HZ)
    await call.expect("call.answered", timeout_s=10)
    assert (await call.expect("call.dtmf_received", timeout_s=10))["digit"] == "7"
    assert (await call.expect("call.ended", timeout_s=10))["reason"] == "hangup"
    await sipp.finish()
    record = await lab.record(call.uuid)
    assert (record["end_reason"], record["sip_code"]) == ("hangup", 200)


async def test_a_recorded_trunk_call_is_rendered_with_both_sides(lab: TrunkLab) -> None:
    """Both legs speak PCMU (browser and carrier): the recording keeps each side's packets and the
    rendered file is served like a browser call's."""
    sipp = await lab.carrier("carrier_echo.xml")
    alice = await lab.phone("1001")
    call = await alice.call("0912345678", CALLER_HZ, options={"recording": True})
    await call.expect("call.answered", timeout_s=10)
    assert call.probe is not None and await call.probe.wait_for(heard(CALLER_HZ), timeout_s=10)
    await asyncio.sleep(2.0)
    await call.hangup()
    await sipp.finish()
    record = await lab.record(call.uuid)
    for _ in range(100):
        if record["recording_url"]:
            break
        await asyncio.sleep(0.2)
        record = await lab.record(call.uuid)
    assert record["recording_url"], record
    token = lab.server.token("1001")
    request = urllib.request.Request(f"{lab.server.url}/api/webphone/calls/{call.uuid}/recording",
                                     headers={"Authorization": f"Bearer {token}"})
    with await asyncio.to_thread(urllib.request.urlopen, request, timeout=10) as response:
        body = response.read()
        assert response.headers["Content-Type"].startswith("audio/ogg") and len(body) > 10_000
