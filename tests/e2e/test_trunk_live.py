"""Chromium on the demo page dials a phone number through a SIP trunk: SIPp as the carrier answers
and echoes the audio, and the page hears itself (its fake microphone's beeps, back through the
carrier). The browser's own offer decides the codec: the server answers it with PCMU."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agent import SOUND, Agent
from tests.live import LiveServer, free_sip_bind, manage, start_live_server, stop_process
from tests.sip.sipp import Sipp, port_in_use

pytestmark = pytest.mark.e2e
SCENARIO = Path(__file__).resolve().parent.parent / "trunks" / "scenarios" / "carrier_echo.xml"


@pytest.fixture
def trunk_site(tmp_path: Path) -> Iterator[tuple[LiveServer, Sipp]]:
    server = start_live_server({"SIP_BIND": free_sip_bind(), "RTP_PORT_MIN": "48200", "RTP_PORT_MAX": "48299"})
    sipp = Sipp(str(SCENARIO), tmp_path, template={"LAW": "0", "RING_MS": "500"}, extra=("-rtp_echo",))
    process = subprocess.Popen(sipp.args, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 5
    while not port_in_use(sipp.port) and time.monotonic() < deadline:
        time.sleep(0.05)
    manage(server, "add_trunk", "demo", "carrier", "--uri", f"sip:127.0.0.1:{sipp.port}")
    yield server, sipp
    stop_process(process)  # type: ignore[arg-type]
    server.stop()


def test_the_demo_page_calls_a_number_through_the_trunk_and_hears_itself(browser: Any, trunk_site: Any) -> None:
    server, sipp = trunk_site
    alice = Agent(browser, server.url, "1001")
    try:
        alice.js("phone.call('0912345678', {campaignId: 36})")
        alice.wait("phone.calls[0] && phone.calls[0].state === 'answered'", timeout=20000)
        m_line = alice.js("phone.calls[0].peerConnection.remoteDescription.sdp.split('m=audio ')[1].split('\\r\\n')[0]")
        assert m_line.split()[2] == "0", m_line  # Chrome offered PCMU, the server answered with it
        assert alice.energy(2000) > SOUND  # the carrier's echo of the page's own microphone
        alice.js("phone.calls[0].hangup()")
        alice.wait("phone.calls.length === 0 || phone.calls[0].state !== 'answered'")
        assert "INVITE sip:0912345678@127.0.0.1" in sipp.messages.read_text()
    finally:
        alice.close()
