"""What the live scenario tests share: a server with the tests' routes and sound files, the whole
audio a client heard, RFC 4733 digits sent the way Chrome sends them, and decoding a recording."""

from __future__ import annotations

import asyncio
import json
import struct
import urllib.request
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc.rtp import RtpPacket

from tests.live import LiveServer, manage
from zorio_widget.client import ClientCall

RATE = 48000


def add_route(server: LiveServer, number: str, scenario: str, params: dict[str, Any] | None = None,
              name: str = "") -> None:
    args = ["add_route", "demo", number, scenario, "--params", json.dumps(params or {})]
    manage(server, *args, *(["--name", name] if name else []))


def write_tone_wav(path: Path, hz: float, seconds: float) -> None:
    t = np.arange(int(seconds * 16000)) / 16000
    pcm = (np.sin(2 * np.pi * hz * t) * 0.4 * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def telephone_event_pt(call: ClientCall, clock_rate: int = 8000) -> int:
    for codec in call.pc.getTransceivers()[0]._codecs:
        if codec.mimeType.lower() == "audio/telephone-event" and codec.clockRate == clock_rate:
            return int(codec.payloadType)
    raise AssertionError("telephone-event was not negotiated")


async def send_rfc4733(call: ClientCall, digit: str, timestamp: int = 90000) -> None:
    """One digit as Chrome sends it: three progress packets, then the end packet three times (on an
    SSRC of its own: aiortc keeps its sequence numbers to itself)."""
    sender = call.pc.getSenders()[0]
    pt = telephone_event_pt(call)
    event = "0123456789*#ABCD".index(digit)
    for i, (end, duration) in enumerate([(False, 160), (False, 320), (False, 480)] + [(True, 640)] * 3):
        packet = RtpPacket(payload_type=pt, sequence_number=4000 + i, timestamp=timestamp)
        packet.ssrc = sender._ssrc ^ 0x5A5A5A5A
        packet.marker = 1 if i == 0 else 0
        packet.payload = struct.pack("!BBH", event, 0x80 | 10 if end else 10, duration)
        await sender.transport._send_rtp(bytes(packet.serialize()))
        await asyncio.sleep(0.02)


def get(server: LiveServer, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"{server.url}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def record_of(server: LiveServer, uuid: str) -> dict[str, Any]:
    status, _, body = get(server, "/api/webphone/calls?page_size=100", {"Authorization": f"Api-Key {server.api_key}"})
    assert status == 200, body
    found = [r for r in json.loads(body)["results"] if r["uuid"] == uuid]
    assert found, uuid
    return found[0]


async def rendered(server: LiveServer, uuid: str, within_s: float = 60.0) -> dict[str, Any]:
    """The call's record once its recording is rendered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        record = await asyncio.to_thread(record_of, server, uuid)
        if record["recording_url"] or loop.time() > deadline:
            return record
        await asyncio.sleep(0.5)


def decode_stereo(data: bytes, path: Path) -> tuple[np.ndarray, int]:
    """(samples, channels) of an Ogg Opus file: samples as (n, channels) float64 at 48 kHz."""
    path.write_bytes(data)
    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        for frame in container.decode(stream):
            array = frame.to_ndarray().astype(np.float64)
            chunks.append(array.T if frame.format.is_planar else array.reshape(-1, channels))
    return (np.concatenate(chunks) if chunks else np.zeros((0, channels))), channels
