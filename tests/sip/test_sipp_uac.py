"""SIPp carriers calling into our user agent (UAC scenarios): DIDs, unknown numbers, CANCEL, RTP."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from tests.media.rtp.conftest import tone_share
from tests.sip.conftest import Events, wait_for
from tests.sip.sipp import Sipp
from tests.sip.test_sipp_uas import TIMERS
from zorio_widget.media.rtp import PortRange, g711
from zorio_widget.sip import SipCall, TrunkConfig, UserAgent

pytestmark = pytest.mark.timeout(120)
TONE_HZ = 770.0
DID = "+84283000100"


def write_mulaw_wav(path: Path, freq_hz: float, seconds: float) -> None:
    """A G.711 µ-law WAV (format 7) for SIPp's rtp_stream."""
    n = int(8000 * seconds)
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq_hz * np.arange(n) / 8000)).astype(np.int16)
    data = g711.encode("pcmu", pcm)
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                     + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)


@pytest.fixture
async def ua() -> AsyncIterator[tuple[UserAgent, Events]]:
    events = Events()
    agent = UserAgent("127.0.0.1", 0, timers=TIMERS, rtp_ports=PortRange(43000, 43999), media_timeout_s=0,
                      on_incoming=lambda call, target: events.incoming.append((events.watch(call), target)))
    await agent.start()
    await agent.set_trunks([TrunkConfig("t", "acme", "carrier", "127.0.0.1", 5060, keepalive_s=0,
                                        dids={DID: "1001"})])
    yield agent, events
    await agent.close()


async def sipp_calls(agent: UserAgent, tmp_path: Path, scenario: str, number: str,
                     template: dict[str, str] | None = None) -> Sipp:
    return await Sipp(scenario, tmp_path, remote=f"127.0.0.1:{agent.port}", template=template,
                      extra=("-s", number)).start()


async def test_inbound_call_to_a_did_rings_its_target_and_hears_the_carriers_tone(ua, tmp_path: Path) -> None:
    agent, events = ua
    wav = tmp_path / "tone.wav"
    write_mulaw_wav(wav, TONE_HZ, 3.0)
    sipp = await sipp_calls(agent, tmp_path, "uac_did.xml", DID, template={"WAV": str(wav)})
    try:
        await wait_for(lambda: events.incoming, within=10)
        call, target = events.incoming[0]
        assert target == "1001"
        assert (call.remote_number, call.remote_name, call.local_number) == ("0912345678", "Customer", DID)
        received: list[bytes] = []
        call.media.on_packet = lambda leg, packet: received.append(packet.payload)
        call.ring()
        await call.answer()
        await wait_for(lambda: ("ended", "hangup", 200) in events.log, within=20)
        await sipp.finish()
    finally:
        await sipp.stop()
    assert events.log == [("answered",), ("ended", "hangup", 200)]
    assert len(received) >= 50, f"only {len(received)} RTP packets from SIPp"
    pcm = g711.decode("pcmu", b"".join(received))
    assert tone_share(pcm, TONE_HZ) > 0.6 and tone_share(pcm, 1000.0) < 0.05
    assert call.media.latched


async def test_inbound_call_to_an_unknown_did_is_404(ua, tmp_path: Path) -> None:
    agent, events = ua
    sipp = await sipp_calls(agent, tmp_path, "uac_unknown_did.xml", "+84999999999")
    try:
        await sipp.finish()
    finally:
        await sipp.stop()
    assert events.incoming == [] and agent.calls == {}


async def test_inbound_call_cancelled_before_the_answer(ua, tmp_path: Path) -> None:
    agent, events = ua
    sipp = await sipp_calls(agent, tmp_path, "uac_cancel.xml", DID)
    try:
        await wait_for(lambda: events.incoming, within=10)
        call: SipCall = events.incoming[0][0]
        call.ring()
        await wait_for(lambda: "ended" in events.names(), within=10)
        await sipp.finish()
    finally:
        await sipp.stop()
    assert events.log == [("ended", "cancelled", 487)]
    await call.media.closed.wait()
    assert agent.calls == {}
