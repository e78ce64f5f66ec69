"""A carrier (SIPp UAC) calling our DIDs on a live server: the agent's browser rings, answers and
hears the caller's tone; transfers of the trunk party; refusals (live server, aiortc peers)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from tests.sip.conftest import Events, wait_for
from tests.sip.test_sipp_uac import write_mulaw_wav
from tests.trunks.live import DID, TrunkLab, manage, near
from zorio_widget.media.rtp import PortRange, g711
from zorio_widget.sip import TrunkConfig, UserAgent

pytestmark = pytest.mark.timeout(180)
CARRIER_HZ, AGENT_HZ = 770.0, 660.0


def tone(hz: float):
    return lambda p: p.rms() > 0.03 and near(p.dominant_hz(), hz)


async def caller(lab: TrunkLab, tmp_path: Path, talk_ms: int, number: str = DID):
    """The trunk points at SIPp's address (it must be a trunk's to be let in), SIPp calls `number`."""
    wav = tmp_path / "caller.wav"
    write_mulaw_wav(wav, CARRIER_HZ, talk_ms / 1000 + 2)
    sipp = await lab.caller("caller_did.xml", number, template={"WAV": str(wav), "TALK_MS": str(talk_ms)})
    await lab.point_trunk_at(sipp)
    return await sipp.start()


async def test_a_did_rings_the_agent_who_answers_and_hears_the_caller(lab: TrunkLab, tmp_path: Path) -> None:
    alice = await lab.phone("1001")
    other_tab = await lab.phone("1001")
    sipp = await caller(lab, tmp_path, talk_ms=4000)
    incoming = await alice.expect("call.incoming", timeout_s=10)
    await other_tab.expect("call.incoming", timeout_s=5)  # every device of the extension rings
    assert (incoming["from"], incoming["from_name"], incoming["to"]) == ("0912345678", "Customer", "1001")
    assert " 0 " in incoming["sdp"].split("m=audio", 1)[1].split("\r\n", 1)[0] + " "  # PCMU offered first
    call = await alice.answer(incoming, AGENT_HZ)
    assert (await other_tab.expect("call.ended", timeout_s=5))["reason"] == "answered-elsewhere"
    await call.expect("call.answered", timeout_s=5)
    assert call.probe is not None and await call.probe.wait_for(tone(CARRIER_HZ), timeout_s=8)
    assert (await call.expect("call.ended", timeout_s=15))["reason"] == "hangup"  # the caller's BYE
    await sipp.finish()
    record = await lab.record(incoming["uuid"])
    assert (record["direction"], record["from"], record["from_name"], record["to"]) == (
        "incoming", "0912345678", "Customer", "1001")
    assert record["sip_code"] == 200 and record["end_reason"] == "hangup"


async def test_an_unknown_did_is_404_and_rings_no_one(lab: TrunkLab, tmp_path: Path) -> None:
    alice = await lab.phone("1001")
    sipp = await lab.caller("uac_unknown_did.xml", "+84999999999")
    await lab.point_trunk_at(sipp)
    await sipp.start()
    await sipp.finish()
    assert not [f for f in alice.inbox if f["type"] == "call.incoming"]


async def test_blind_transfer_of_the_caller_to_another_extension(lab: TrunkLab, tmp_path: Path) -> None:
    alice, bob = await lab.phone("1001"), await lab.phone("1002")
    sipp = await caller(lab, tmp_path, talk_ms=12000)
    incoming = await alice.expect("call.incoming", timeout_s=10)
    call = await alice.answer(incoming, AGENT_HZ)
    assert call.probe is not None and await call.probe.wait_for(tone(CARRIER_HZ), timeout_s=8)
    await call.send("call.transfer", target="1002")
    assert (await call.expect("call.ended", timeout_s=5))["reason"] == "transferred"
    moved = await bob.expect("call.incoming", timeout_s=10)
    assert moved["from"] == "0912345678"
    transferred = await bob.answer(moved, AGENT_HZ)
    assert transferred.probe is not None and await transferred.probe.wait_for(tone(CARRIER_HZ), timeout_s=8)
    assert (await transferred.expect("call.ended", timeout_s=20))["reason"] == "hangup"
    await sipp.finish()


async def test_attended_transfer_joins_the_caller_to_the_consulted_agent(lab: TrunkLab, tmp_path: Path) -> None:
    """The consult leg is Opus (browser to browser); joined to the trunk party's G.711, the bridge
    transcodes, and the consulted agent hears the caller."""
    alice, bob = await lab.phone("1001"), await lab.phone("1002")
    sipp = await caller(lab, tmp_path, talk_ms=15000)
    incoming = await alice.expect("call.incoming", timeout_s=10)
    call = await alice.answer(incoming, AGENT_HZ)
    assert call.probe is not None and await call.probe.wait_for(tone(CARRIER_HZ), timeout_s=8)
    consult_trying = await alice.request({"type": "call.attended_transfer", "call_id": call.call_id,
                                          "target": "1002"}, "call.trying")
    offer = await alice.expect("sdp.offer", call_id=consult_trying["call_id"], timeout_s=5)
    consult = await alice.accept_offer(consult_trying["call_id"], consult_trying["uuid"], offer["sdp"], 440.0)
    ring = await bob.expect("call.incoming", timeout_s=10)
    consulted = await bob.answer(ring, AGENT_HZ)
    await consult.expect("call.answered", timeout_s=5)
    await call.send("call.complete_transfer")
    assert (await call.expect("call.ended", timeout_s=5))["reason"] == "transferred"
    assert consulted.probe is not None and await consulted.probe.wait_for(tone(CARRIER_HZ), timeout_s=10)
    assert (await consulted.expect("call.ended", timeout_s=25))["reason"] == "hangup"
    await sipp.finish()


async def test_a_did_whose_target_is_a_scenario_route_plays_its_prompt_to_the_caller(lab: TrunkLab) -> None:
    """DID -> route 7000 (`announcement`, a spoken prompt): the scenario answers the carrier's call,
    the prompt (Opus clips from the TTS) reaches the caller as PCMU speech, then it hangs up. The
    carrier here is a user agent of our own SIP package in the test, so its RTP can be decoded."""
    await asyncio.to_thread(manage, lab.server, "add_route", "demo", "7000", "announcement", "--params",
                            json.dumps({"prompt": {"say": "Welcome to the demo company. Goodbye."}}))
    events = Events()
    carrier = UserAgent("127.0.0.1", 0, rtp_ports=PortRange(47600, 47699), media_timeout_s=0)
    await carrier.start()
    try:
        await asyncio.to_thread(manage, lab.server, "add_trunk", "demo", "carrier", "--uri",
                                f"sip:127.0.0.1:{carrier.port}", "--did", "+842873000170=7000")
        await carrier.set_trunks([TrunkConfig("z", "carrier", "to-zorio", "127.0.0.1", lab.sip_port, keepalive_s=0)])
        call = events.watch(await carrier.dial("z", "+842873000170", caller_id="0912345678"))
        heard: list[bytes] = []
        call.media.on_packet = lambda _s, packet: heard.append(packet.payload)
        await wait_for(lambda: call.state == "ended", within=30)
    finally:
        await carrier.close()
    assert ("answered",) in events.log and events.log[-1][:2] == ("ended", "hangup")
    pcm = g711.decode("pcmu", b"".join(heard)).astype(np.float64)
    assert len(pcm) > 8000, f"only {len(pcm) / 8000:.2f} s of audio"
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160)
    voiced = np.sqrt((frames ** 2).mean(axis=1)) > 500
    assert voiced.mean() > 0.2, f"speech in {voiced.mean():.0%} of the frames"
