"""A real SIP phone (baresip) at the far end of a trunk: a browser calls it through the live
server, both hear each other's tone, and the digits the browser sends reach it as RFC 4733."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.media.spectrum import power_at
from tests.trunks.baresip import Baresip
from tests.trunks.live import DID, TrunkLab, manage, near

pytestmark = pytest.mark.timeout(120)
BROWSER_HZ, PHONE_HZ = 440.0, 1000.0


async def test_a_browser_calls_baresip_through_the_trunk(lab: TrunkLab, tmp_path: Path) -> None:
    phone = await Baresip(tmp_path, "0912345678", PHONE_HZ, (48100, 48199)).start()
    try:
        await asyncio.to_thread(manage, lab.server, "add_trunk", "demo", "carrier", "--uri",
                                f"sip:127.0.0.1:{phone.port}", "--did", f"{DID}=1001")
        alice = await lab.phone("1001")
        call = await alice.call("0912345678", BROWSER_HZ)
        await call.expect("call.answered", timeout_s=15)  # auto-answer
        assert call.probe is not None
        assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), PHONE_HZ), timeout_s=10)
        await call.send("call.dtmf", digits="59")
        await asyncio.sleep(3.0)  # the digits, then the browser's tone again for baresip's dump
        await call.hangup()
        await call.expect("call.ended")
        await asyncio.sleep(0.5)
    finally:
        await phone.stop()
    assert phone.received_digits() == ["5", "9"], phone.log()[-3000:]
    pcm, rate = phone.heard()
    assert len(pcm) > rate * 2
    tail = pcm[-rate:]  # the last second: the browser's voice after the digits
    assert power_at(tail, BROWSER_HZ, rate, width_hz=30) > 0.5, phone.log()[-2000:]
    record = await lab.record(call.uuid)
    assert (record["sip_code"], record["end_reason"]) == (200, "hangup")
