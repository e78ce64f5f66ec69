"""Real aiortc client peers (the "browsers") against server ``MediaLeg``s, all in-process.

A ``Client`` sends a sine (or any PCM) and records the audio it receives, decoded by aiortc's
stock receive path; helpers measure energy and the dominant frequency with numpy's FFT.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from zorio_widget.client.audio import ToneTrack, without_telephone_event
from zorio_widget.media import MediaLeg, aiortc_hook, native
from zorio_widget.media.bridge import Bridge
from zorio_widget.media.native import routes as native_routes

RATE = 48000
FRAME = 960


class Client:
    """An aiortc peer standing in for a browser.

    ``telephone_event_rates``: the telephone-event clock rates it offers/accepts (aiortc_hook
    registers 8000 and 48000 process-wide; the others are removed from the SDP sent to the leg).
    """

    def __init__(self, freq: float, telephone_event_rates: tuple[int, ...] = (8000, 48000)) -> None:
        self.freq = freq
        self.telephone_event_rates = telephone_event_rates
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = ToneTrack(freq or None)
        self.sender = self.pc.addTrack(self.track)
        self.received: list[tuple[float, np.ndarray]] = []
        self._reader: asyncio.Task[None] | None = None
        self._te_seq = 1000
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                mono = frame.to_ndarray()[0][:: len(frame.layout.channels)]
                self.received.append((time.monotonic(), mono.astype(np.float64)))
        except MediaStreamError:
            pass

    # -- signalling -----------------------------------------------------------------------------

    async def call(self, leg: MediaLeg) -> None:
        """Browser offers, the server leg answers (an outgoing call)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = without_telephone_event(self.pc.localDescription.sdp, keep_rates=self.telephone_event_rates)
        answer = await leg.accept_offer(offer)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def answer(self, leg: MediaLeg) -> None:
        """The server leg offers, the client answers (an incoming call)."""
        offer = without_telephone_event(await leg.create_offer(), keep_rates=self.telephone_event_rates)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await leg.accept_answer(self.pc.localDescription.sdp)

    async def close(self) -> None:
        self.track.stop()
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    # -- RFC 4733 -------------------------------------------------------------------------------

    def telephone_event_pt(self, clock_rate: int = 8000) -> int:
        transceiver = self.pc.getTransceivers()[0]
        for codec in transceiver._codecs:
            if codec.mimeType.lower() == "audio/telephone-event" and codec.clockRate == clock_rate:
                return codec.payloadType
        raise AssertionError("telephone-event was not negotiated")

    async def send_dtmf_event(self, digit: str, timestamp: int, pt: int) -> None:
        """Send one digit the way Chrome does: 3 progress packets, then the end packet 3 times.

        Chrome interleaves events with Opus on one SSRC and sequence space; aiortc's sender keeps
        its sequence number private and SRTP rejects reused indexes, so the test uses its own
        SSRC (the server routes it by payload type, as it would a browser's new SSRC).
        """
        event = "0123456789*#ABCD".index(digit)
        packets = [(False, 160 * i) for i in (1, 2, 3)] + [(True, 640)] * 3
        for i, (end, duration) in enumerate(packets):
            packet = RtpPacket(payload_type=pt, sequence_number=self._te_seq, timestamp=timestamp)
            packet.ssrc = self.sender._ssrc ^ 0x5A5A5A5A
            packet.marker = 1 if i == 0 else 0
            packet.payload = struct.pack("!BBH", event, 0x80 | 10 if end else 10, duration)
            self._te_seq += 1
            await self.sender.transport._send_rtp(bytes(packet.serialize()))
            await asyncio.sleep(0.005)

    # -- analysis -------------------------------------------------------------------------------

    def audio_since(self, since: float) -> np.ndarray:
        chunks = [pcm for at, pcm in self.received if at >= since]
        return np.concatenate(chunks) if chunks else np.zeros(0)

    async def listen(self, seconds: float) -> np.ndarray:
        """The audio received during the next ``seconds``."""
        start = time.monotonic()
        await asyncio.sleep(seconds)
        return self.audio_since(start)

    async def wait_for_audio(self, within_s: float = 5.0) -> None:
        deadline = time.monotonic() + within_s
        while not self.received:
            if time.monotonic() > deadline:
                raise AssertionError("client received no audio")
            await asyncio.sleep(0.02)


async def wire_spy(client: Client) -> list[RtpPacket]:
    """Every RTP packet ``client`` receives, as aiortc parsed it off the wire."""
    seen: list[RtpPacket] = []
    receiver = client.pc.getReceivers()[0]
    original = receiver._handle_rtp_packet

    async def spy(packet: RtpPacket, arrival_time_ms: int) -> None:
        seen.append(packet)
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = spy  # type: ignore[method-assign]
    return seen


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm**2))) if len(pcm) else 0.0


def dominant_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    freqs = np.fft.rfftfreq(len(pcm), 1 / RATE)
    spectrum[freqs < 50] = 0
    return float(freqs[int(np.argmax(spectrum))])


async def wait_until(predicate: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def counter_growth(leg: object) -> Callable[[str], int]:
    """How much each of ``leg``'s native relay counters (``native_routes.counters``) grew since now."""
    start = native_routes.counters(leg)
    return lambda name: native_routes.counters(leg)[name] - start[name]


@pytest.fixture
async def media() -> AsyncIterator[MediaFactory]:
    factory = MediaFactory()
    yield factory
    await factory.close()


class MediaFactory:
    """Creates legs, clients and a bridge for one test and closes them all afterwards."""

    def __init__(self) -> None:
        aiortc_hook.install()
        self.bridge = Bridge()
        self.legs: list[MediaLeg] = []
        self.clients: list[Client] = []

    def leg(self, leg_id: str | None = None, **kwargs: object) -> MediaLeg:
        leg = MediaLeg(leg_id, **kwargs)  # type: ignore[arg-type]
        self.legs.append(leg)
        return leg

    def client(self, freq: float = 0.0, telephone_event_rates: tuple[int, ...] = (8000, 48000)) -> Client:
        client = Client(freq, telephone_event_rates)
        self.clients.append(client)
        return client

    async def pair(
        self,
        freq: float,
        incoming: bool = False,
        leg_id: str | None = None,
        telephone_event_rates: tuple[int, ...] = (8000, 48000),
    ) -> tuple[Client, MediaLeg]:
        """A connected client and its server leg (``incoming``: the server offers)."""
        client, leg = self.client(freq, telephone_event_rates), self.leg(leg_id)
        if incoming:
            await client.answer(leg)
        else:
            await client.call(leg)
        await wait_until(lambda: leg.state == "connected")
        return client, leg

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), *(leg.close() for leg in self.legs))


@pytest.fixture(params=["native", "python"])
def relay_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with the native relay (``native/_fastrelay.c``) and once with the Python path."""
    if request.param == "native":
        assert native.available(), "the native relay is not built: `make native` builds it (setup.py build_ext)"
    monkeypatch.setattr(native, "enabled", request.param == "native")
    return str(request.param)

