"""Browsers calling out through a trunk, with SIPp as the carrier (live server, real aiortc peers)."""

from __future__ import annotations

import pytest

from tests.trunks.live import TrunkLab, near

pytestmark = pytest.mark.timeout(180)
CALLER_HZ = 440.0


async def test_the_seeds_call_reaches_the_carrier_and_hears_itself_through_the_echo(lab: TrunkLab) -> None:
    """`phone.call('0912345678', {campaignId: 36})`: INVITE to the carrier, ringing, answer, G.711
    relayed both ways (SIPp echoes our RTP: the browser hears its own tone), the record keeps 200."""
    sipp = await lab.carrier("carrier_echo.xml")
    alice = await lab.phone("1001")
    call = await alice.call("0912345678", CALLER_HZ, options={"campaign_id": "36"})
    await call.expect("call.ringing", timeout_s=10)
    await call.expect("call.answered", timeout_s=10)
    assert "PCMU/8000" in call.pc.remoteDescription.sdp.split("m=audio", 1)[1].split("a=rtpmap", 2)[1]
    assert call.probe is not None
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ), timeout_s=10)
    await call.hangup()
    await call.expect("call.ended")
    await sipp.finish()
    invite = sipp.messages.read_text().split("INVITE sip:", 1)[1]
    assert invite.startswith("0912345678@127.0.0.1")
    record = await lab.record(call.uuid)
    assert record["sip_code"] == 200 and record["end_reason"] == "hangup" and record["direction"] == "outgoing"
    assert record["to"] == "0912345678" and record["options"]["campaign_id"] == "36"
