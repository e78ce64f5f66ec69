"""Browser legs on G.711 facing trunk legs: negotiation, relay without transcoding, clips, and the
transcoder where codecs differ (aiortc peers as browsers, real RTP sessions over loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from tests.media.conftest import Client
from tests.media.spectrum import dominant_hz, power_at, rms
from zorio_widget.media import MediaLeg
from zorio_widget.media.bridge import Bridge
from zorio_widget.media.playback import Playback
from zorio_widget.media.playback.pcm import pcm_to_clip
from zorio_widget.media.rtp import PCMA, PCMU, PortRange, RtpLeg, RtpSession, g711

pytestmark = pytest.mark.timeout(30)
G711_FIRST = ("pcmu", "pcma", "opus")


@pytest.fixture
async def leg() -> AsyncIterator[MediaLeg]:
    media = MediaLeg("browser")
    yield media
    await media.close()


async def test_a_leg_preferring_g711_answers_pcmu_and_echoes_it(leg: MediaLeg) -> None:
    client = Client(440.0)
    leg.prefer_codecs(G711_FIRST)
    try:
        await client.call(leg)
        answer = leg._pc.localDescription.sdp
        assert "m=audio" in answer and " PCMU/8000" in answer and "opus" not in answer.lower()
        assert leg.audio_codec == "pcmu" and leg.outbound.audio_codec == "pcmu"
        bridge = Bridge()
        bridge.echo(leg)
        await client.wait_for_audio()
        await asyncio.sleep(1.0)
        heard = await client.listen(1.5)
        # aiortc decodes G.711 at 8 kHz
        assert rms(heard) > 1000 and abs(dominant_hz(heard, 8000) - 440.0) < 15, (rms(heard), dominant_hz(heard, 8000))
        bridge.play(leg, "ringback")  # a clip in the leg's codec
        await asyncio.sleep(0.5)
        heard = await client.listen(1.0)
        assert power_at(heard, 440.0, 8000, width_hz=30) + power_at(heard, 480.0, 8000, width_hz=30) > 0.5
    finally:
        await client.close()


async def test_opus_only_browser_still_gets_opus(leg: MediaLeg) -> None:
    client = Client(440.0)
    leg.prefer_codecs(G711_FIRST)
    try:
        await client.pc.setLocalDescription(await client.pc.createOffer())
        offer = client.pc.localDescription.sdp
        offer = "\r\n".join(line for line in offer.split("\r\n")
                            if "PCMU" not in line and "PCMA" not in line)
        offer = offer.replace(" 0 8 ", " ").replace(" 0 8\r\n", "\r\n")
        answer = await leg.accept_offer(offer)
        assert "opus/48000/2" in answer and leg.audio_codec == "opus"
    finally:
        await client.close()


def tone_payloads(law: str, freq_hz: float, seconds: float) -> list[bytes]:
    n = int(8000 * seconds)
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq_hz * np.arange(n) / 8000)).astype(np.int16)
    data = g711.encode(law, pcm)
    return [data[i:i + 160] for i in range(0, len(data), 160)]


async def trunk_pair() -> tuple[RtpLeg, RtpSession, list[bytes]]:
    """Our trunk leg and a far end (another RTP session) it negotiated PCMU with; what the far
    end receives is collected."""
    ports = PortRange(46000, 46099)
    ours, far = RtpSession(ports, local_address="127.0.0.1"), RtpSession(ports, local_address="127.0.0.1")
    await ours.open()
    await far.open()
    far.accept_answer(ours.accept_offer(far.create_offer()))
    received: list[bytes] = []
    far.on_packet = lambda _s, packet: received.append(packet.payload)
    return RtpLeg(ours), far, received


@pytest.mark.parametrize("browser_codecs", [G711_FIRST, ("opus",)])
async def test_browser_and_trunk_hear_each_other_relayed_or_transcoded(leg: MediaLeg, browser_codecs) -> None:
    client = Client(440.0)
    leg.prefer_codecs(browser_codecs)
    rtp, far, far_heard = await trunk_pair()
    bridge = Bridge()
    try:
        await client.call(leg)
        bridge.connect(leg, rtp)
        far.outbound.play_once(tone_payloads("pcmu", 770.0, 4.0))
        await client.wait_for_audio()
        await asyncio.sleep(1.5)
        rate = 8000 if leg.audio_codec == "pcmu" else 48000
        heard = await client.listen(1.5)
        assert power_at(heard, 770.0, rate, width_hz=30) > 0.6, dominant_hz(heard, rate)
        pcm = g711.decode("pcmu", b"".join(far_heard[-75:])).astype(np.float64)
        assert power_at(pcm, 440.0, 8000, width_hz=30) > 0.6, dominant_hz(pcm, 8000)
        assert bridge._transcoders.active == (0 if leg.audio_codec == "pcmu" else 2)
    finally:
        await client.close()
        await rtp.close()
        await far.close()
    assert bridge._transcoders.active == 0


@pytest.mark.parametrize("law", ["pcmu", "pcma"])
async def test_a_playback_reaches_a_trunk_leg_in_its_law(law: str) -> None:
    """A prompt or file (Opus clips pulled every 20 ms) played to a trunk leg is converted to the
    leg's G.711 law: the far end hears the tone, not silence or Opus bytes."""
    ports = PortRange(46100, 46199)
    ours = RtpSession(ports, local_address="127.0.0.1", codecs=(PCMA,) if law == "pcma" else (PCMU,))
    far = RtpSession(ports, local_address="127.0.0.1")
    await ours.open()
    await far.open()
    far.accept_answer(ours.accept_offer(far.create_offer()))
    heard: list[bytes] = []
    far.on_packet = lambda _s, packet: heard.append(packet.payload)
    rtp, bridge = RtpLeg(ours), Bridge()
    n = 48000 * 3
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 600.0 * np.arange(n) / 48000)).astype(np.int16)
    try:
        bridge.play(rtp, Playback("test:tone", pcm_to_clip("test:tone", pcm)))
        await asyncio.sleep(2.0)
        assert ours.codec is not None and ours.codec.name == law
        decoded = g711.decode(law, b"".join(heard[-50:])).astype(np.float64)
        assert power_at(decoded, 600.0, 8000, width_hz=30) > 0.6, dominant_hz(decoded, 8000)
    finally:
        await rtp.close()
        await far.close()
