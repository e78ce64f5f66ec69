"""Server-side call control against a real carrier: SIPp behind the demo tenant's trunk, a live
server, aiortc browsers.

- An `ivr` on a DID: the carrier's caller sends an RFC 4733 digit (SIPp plays a capture: a tone
  with the event in the same stream), the menu hands the caller to the agent, whose browser hears
  the caller's tone (Goertzel power at its frequency).
- A `voicemail` on a DID: the caller's message is stored as it came, G.711 in WAV, while it is
  recorded, then rendered and served playable to the mailbox's extension.
- A recorded browser-to-carrier call: the stereo file has the browser's tone left and the
  carrier's right (SIPp streams a tone of its own, no echo).
- Click-to-call (`POST /api/webphone/calls`): the agent rings first, nothing is dialled before the
  answer, then the customer's number goes out through the trunk to a SIPp UAS.
- `send_digits` toward a carrier whose answer has no telephone-event: the RTP that reaches the
  carrier's media address (a socket of the test's) carries the digits as dual tones, no event.
"""

from __future__ import annotations

import asyncio
import json
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.media.spectrum import power_at
from tests.scenarios.live import add_route, decode_stereo, get, rendered
from tests.sip.test_sipp_uac import write_mulaw_wav
from tests.trunks.live import TrunkLab, manage
from tests.trunks.rtp import RtpSink, tone_then_digit_pcap
from zorio_widget.client.audio import AudioProbe
from zorio_widget.media.dtmf import GoertzelDetector, goertzel_powers
from zorio_widget.media.rtp import g711

pytestmark = pytest.mark.timeout(180)
CALLER_HZ, AGENT_HZ, CARRIER_HZ = 440.0, 660.0, 770.0
AGENT_OUT_HZ = 935.0
"The agent's tone when it calls out: not a part of any ringback (US 440 + 480 Hz, the server's 425 Hz)."
RINGBACK_HZ = (425.0, 480.0)
IVR_DID, VOICEMAIL_DID = "+842873000300", "+842873000310"
CUSTOMER = "0912345678"


def hears(hz: float):
    """The last 0.1 s heard holds `hz` well above the other tones of these tests (Goertzel)."""
    others = np.array([f for f in (CALLER_HZ, AGENT_HZ, CARRIER_HZ, AGENT_OUT_HZ, *RINGBACK_HZ, hz * 0.8, hz * 1.25)
                       if f != hz])

    def heard(probe: AudioProbe) -> bool:
        pcm = probe.samples().astype(np.float64)[-4800:]
        if pcm.size < 4800 or probe.rms() < 0.02:
            return False
        target = goertzel_powers(pcm, np.array([hz]), 48000)[0]
        return bool(target > 20 * goertzel_powers(pcm, others, 48000).max())

    return heard


async def test_an_ivr_on_a_did_takes_the_carriers_rfc4733_digit_and_hands_the_caller_to_the_agent(
        lab: TrunkLab, tmp_path: Path) -> None:
    await asyncio.to_thread(add_route, lab.server, "7300", "ivr", {
        "prompt": {"say": "Press one for Bob."}, "options": {"1": {"extension": "1002"}},
        "timeout_s": 20, "retries": 0, "inband": False})  # only the RFC 4733 event can choose
    bob = await lab.phone("1002")
    capture = tmp_path / "caller.pcap"
    tone_then_digit_pcap(capture, CARRIER_HZ, before_s=1.5, digit="1", after_s=25.0)
    sipp = await lab.caller("caller_pcap.xml", IVR_DID, template={"PCAP": str(capture), "TALK_MS": "14000"})
    await lab.point_trunk_at(sipp, {IVR_DID: "7300"})
    await sipp.start()
    incoming = await bob.expect("call.incoming", timeout_s=20)
    assert (incoming["from"], incoming["from_name"]) == (CUSTOMER, "Customer")
    call = await bob.answer(incoming, AGENT_HZ)
    assert call.probe is not None and await call.probe.wait_for(hears(CARRIER_HZ), timeout_s=10)
    assert (await call.expect("call.ended", timeout_s=20))["reason"] == "hangup"  # the caller's BYE
    await sipp.finish()
    record = await lab.record(incoming["uuid"], "1002")
    assert (record["from"], record["to"], record["end_reason"]) == (CUSTOMER, "1002", "hangup")


async def test_a_voicemail_on_a_did_stores_the_carriers_message_as_g711_then_a_playable_file(
        lab: TrunkLab, tmp_path: Path) -> None:
    await asyncio.to_thread(add_route, lab.server, "7310", "voicemail", {
        "mailbox": "1002", "greeting": {"say": "Leave a message."}, "max_length_s": 30})
    wav = tmp_path / "message.wav"
    write_mulaw_wav(wav, CARRIER_HZ, 12.0)
    sipp = await lab.caller("caller_did.xml", VOICEMAIL_DID, template={"WAV": str(wav), "TALK_MS": "7000"})
    await lab.point_trunk_at(sipp, {VOICEMAIL_DID: "7310"})
    await sipp.start()
    root = Path(lab.server.env["RECORDINGS_ROOT"])
    track = None
    for _ in range(150):  # while the message is recorded: the caller's packets, stored as they came
        track = await asyncio.to_thread(lambda: next(iter(root.rglob("*.caller.wav")), None))
        if track is not None:
            break
        await asyncio.sleep(0.1)
    assert track is not None, "no G.711 track while the voicemail was recorded"
    tag, channels, rate = struct.unpack("<HHI", (await asyncio.to_thread(track.read_bytes))[20:28])
    assert (tag, channels, rate) == (7, 1, 8000)  # mu-law, mono, 8 kHz: the trunk's PCMU, not decoded
    await sipp.finish()
    record = None
    for _ in range(150):
        found = [r for r in await asyncio.to_thread(lab.records, "1002") if r["kind"] == "voicemail"]
        if found and found[0]["recording_url"]:
            record = found[0]
            break
        await asyncio.sleep(0.2)
    assert record is not None, "no voicemail with a recording for the mailbox"
    assert (record["from"], record["to"], record["direction"]) == (CUSTOMER, "7310", "incoming")
    status, headers, data = await asyncio.to_thread(get, lab.server, record["recording_url"],
                                                    {"Authorization": f"Bearer {lab.server.token('1002')}"})
    assert status == 200 and headers["Content-Type"] == "audio/ogg"
    pcm, _channels = decode_stereo(data, tmp_path / "voicemail.ogg")
    assert 3.0 < len(pcm) / 48000 < 7.0, len(pcm) / 48000  # the 7 s call less the greeting and the beep
    assert power_at(pcm[:, 0], CARRIER_HZ) > 0.5


async def test_a_recorded_call_to_the_carrier_is_stereo_with_each_side_in_its_channel(
        lab: TrunkLab, tmp_path: Path) -> None:
    wav = tmp_path / "carrier.wav"
    write_mulaw_wav(wav, CARRIER_HZ, 20.0)
    sipp = await lab.carrier("carrier_tone.xml", template={"WAV": str(wav)}, rtp_echo=False)
    alice = await lab.phone("1001")
    call = await alice.call(CUSTOMER, CALLER_HZ, options={"recording": True})
    await call.expect("call.answered", timeout_s=10)
    assert (await call.expect("call.recording", timeout_s=10))["state"] == "recording"
    assert call.probe is not None and await call.probe.wait_for(hears(CARRIER_HZ), timeout_s=10)
    await asyncio.sleep(3.0)
    await call.hangup()
    await sipp.finish()
    record = await rendered(lab.server, call.uuid)
    assert record["recording_url"], record
    status, _, data = await asyncio.to_thread(get, lab.server, record["recording_url"],
                                              {"Authorization": f"Bearer {lab.server.token('1001')}"})
    assert status == 200
    pcm, channels = decode_stereo(data, tmp_path / "call.ogg")
    assert channels == 2 and len(pcm) / 48000 > 2.5
    left, right = pcm[:, 0], pcm[:, 1]
    both = np.sqrt(np.convolve(left**2, np.ones(2400) / 2400, "same")) > 0.02
    both &= np.sqrt(np.convolve(right**2, np.ones(2400) / 2400, "same")) > 0.02
    assert both.mean() > 0.5, both.mean()
    assert power_at(left[both], CALLER_HZ) > 0.5 and power_at(right[both], CARRIER_HZ) > 0.5  # caller left
    assert power_at(left[both], CARRIER_HZ) < 0.05 and power_at(right[both], CALLER_HZ) < 0.05


def post_call(lab: TrunkLab, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{lab.server.url}/api/webphone/calls", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Api-Key {lab.server.api_key}",
                                              "Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return error.code, dict(json.loads(error.read()))


async def test_click_to_call_rings_the_agent_then_dials_the_customer_through_the_trunk(lab: TrunkLab) -> None:
    sipp = await lab.carrier("carrier_echo.xml")
    alice = await lab.phone("1001")
    status, body = await asyncio.to_thread(post_call, lab, {"from": "1001", "to": CUSTOMER,
                                                           "options": {"campaign_id": "C9"}})
    assert status == 201 and (body["from"], body["to"], body["state"]) == ("1001", CUSTOMER, "ringing"), body
    incoming = await alice.expect("call.incoming", timeout_s=10)
    assert incoming["from"] == CUSTOMER  # the agent sees whom it will call
    await asyncio.sleep(1.0)
    assert "INVITE sip:" not in (sipp.messages.read_text() if sipp.messages.exists() else "")  # not before the answer
    call = await alice.answer(incoming, AGENT_OUT_HZ)
    assert call.probe is not None and await call.probe.wait_for(hears(AGENT_OUT_HZ), timeout_s=15)  # the echo
    invite = sipp.messages.read_text().split("INVITE sip:", 1)[1]
    assert invite.startswith(f"{CUSTOMER}@127.0.0.1")
    await call.hangup()
    await call.expect("call.ended", timeout_s=10)
    await sipp.finish()
    dialled = [r for r in await asyncio.to_thread(lab.records, "1001") if r["to"] == CUSTOMER and r["sip_code"]]
    assert dialled, await asyncio.to_thread(lab.records, "1001")
    record = await lab.record(dialled[0]["uuid"])
    assert (record["sip_code"], record["end_reason"]) == (200, "hangup")
    assert record["options"]["campaign_id"] == "C9"


async def test_digits_sent_to_a_carrier_without_telephone_event_arrive_as_dual_tones(lab: TrunkLab) -> None:
    sink = await RtpSink.open()
    try:
        sipp = await lab.carrier("carrier_no_events.xml", template={"RTP_PORT": str(sink.port)}, rtp_echo=False)
        await asyncio.to_thread(add_route, lab.server, "7320", "tests.trunks.scripts:pstn_digits",
                                {"number": CUSTOMER, "digits": "1p59#", "caller_id": "02871234567"})
        await asyncio.to_thread(manage, lab.server, "shell", "-c", (  # a caller id the trunk may present
            "from zorio_widget.trunks.models import Trunk; "
            "Trunk.objects.filter(name='carrier').update(caller_ids='02871234567')"))
        alice = await lab.phone("1001")
        call = await alice.call("7320", None)
        assert (await call.expect("call.message", timeout_s=20))["text"] == "digits sent"
        await call.expect("call.ended", timeout_s=10)
        await sipp.finish()
    finally:
        sink.close()
    invite = sipp.messages.read_text().split("INVITE sip:", 1)[1]
    assert invite.startswith(f"{CUSTOMER}@") and "<sip:02871234567@" in invite.split("From:", 1)[1].split("\n", 1)[0]
    assert "telephone-event" in invite  # our INVITE offered events (the answer has none)...
    assert sink.packets and {p.payload_type for p in sink.packets} == {0}  # ...but sent none: PCMU only
    detector, found = GoertzelDetector(8000), []
    for packet in sink.packets:
        for digit in detector.feed(g711.decode("pcmu", packet.payload)):
            found.append((digit, packet.arrived))
    assert [digit for digit, _ in found] == ["1", "5", "9", "#"], found
    gaps = np.diff([at for _, at in found])
    assert gaps[0] > gaps[1] + 0.4, gaps  # the `p`: half a second more between 1 and 5


async def test_a_scenarios_x_headers_reach_the_carrier_as_sip_headers(lab: TrunkLab) -> None:
    """Each SIPp scenario requires its header (`ereg check_it`): the 200 of a scenario's answer, the
    final response of its reject, the INVITE of its call_pstn and the BYE of its hangup."""
    await asyncio.to_thread(add_route, lab.server, "7330", "tests.scenarios.scripts:answer_with_headers",
                            {"ticket": "T-77"})
    await asyncio.to_thread(add_route, lab.server, "7331", "tests.scenarios.scripts:reject_with", {"code": 486})
    answered = await lab.caller("caller_headers.xml", "+842873000330", template={"TICKET": "T-77"})
    await lab.point_trunk_at(answered, {"+842873000330": "7330", "+842873000331": "7331"})
    await answered.start()
    await answered.finish()
    rejected = await lab.caller("caller_rejected.xml", "+842873000331", template={"CODE": "486", "WHY": "test"})
    await lab.point_trunk_at(rejected, {"+842873000330": "7330", "+842873000331": "7331"})
    await rejected.start()
    await rejected.finish()

    carrier = await lab.carrier("carrier_headers.xml", template={"CAMPAIGN": "C-12", "REASON": "done"},
                                rtp_echo=False)
    await asyncio.to_thread(add_route, lab.server, "7332", "tests.trunks.scripts:pstn_with_headers", {
        "number": CUSTOMER, "invite": {"X-Campaign": "C-12"}, "bye": {"X-Reason": "done"}})
    alice = await lab.phone("1001")
    call = await alice.call("7332", None)
    assert (await call.expect("call.message", timeout_s=20))["text"] == "hung up"
    await call.hangup()
    await carrier.finish()
