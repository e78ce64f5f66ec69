"""RTP the tests make and take on the carrier's side: a pcap SIPp plays (``play_pcap_audio``), and a
plain UDP socket a carrier's SDP points at, that keeps every packet it receives.

The pcap is one RTP stream (one SSRC, one sequence, one 8 kHz timeline), as a phone sends it: a
PCMU tone, an RFC 4733 digit (payload type 101, three progress packets and the end packet three
times, the audio's timestamp held for the event), and the tone again. SIPp sends its packets with
the capture's spacing from its media port to the address our answer gave.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zorio_widget.media.rtp import g711

RATE_HZ = 8000
FRAME = 160
EVENT_PT = 101
_DIGITS = "0123456789*#ABCD"


def _frame(rtp: bytes) -> bytes:
    """Ethernet, IPv4 and UDP headers around one RTP packet (SIPp rewrites the addresses and ports)."""
    udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
    return b"\0" * 12 + b"\x08\x00" + ip


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> None:
    """`packets`: (seconds from the start, RTP packet), as a libpcap file of Ethernet frames."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for at, rtp in packets:
        frame = _frame(rtp)
        seconds, micros = divmod(round(at * 1e6), 1_000_000)
        out.append(struct.pack("<IIII", 1_700_000_000 + seconds, micros, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def tone_then_digit_pcap(path: Path, hz: float, before_s: float, digit: str, after_s: float) -> None:
    """`before_s` of a PCMU tone, the RFC 4733 `digit`, then `after_s` more of the tone."""
    ssrc, seq, timestamp, at = 0x2A2A2A2A, 1000, 16000, 0.0
    packets: list[tuple[float, bytes]] = []

    def rtp(pt: int, payload: bytes, marker: bool = False) -> bytes:
        return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, timestamp, ssrc) + payload

    def tone(seconds: float) -> None:
        nonlocal seq, timestamp, at
        for _ in range(round(seconds * RATE_HZ / FRAME)):
            n = timestamp + np.arange(FRAME)
            pcm = (0.3 * 32767 * np.sin(2 * np.pi * hz * n / RATE_HZ)).astype(np.int16)
            packets.append((at, rtp(0, g711.encode("pcmu", pcm))))
            seq, timestamp, at = seq + 1, timestamp + FRAME, at + 0.02

    tone(before_s)
    event = _DIGITS.index(digit)
    for i, (end, duration) in enumerate([(False, 160), (False, 320), (False, 480)] + [(True, 640)] * 3):
        packets.append((at, rtp(EVENT_PT, struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration), i == 0)))
        seq, at = seq + 1, at + 0.02
    timestamp += 640
    tone(after_s)
    write_pcap(path, packets)


@dataclass
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    payload: bytes
    arrived: float


class RtpSink(asyncio.DatagramProtocol):
    """A UDP port that keeps the RTP packets it receives (and sends nothing)."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls) -> RtpSink:
        sink = cls()
        sink.transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: sink, local_addr=("127.0.0.1", 0))
        return sink

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) >= 12 and data[0] >> 6 == 2:
            _flags, marker_pt, seq, timestamp, _ssrc = struct.unpack("!BBHII", data[:12])
            self.packets.append(RtpPacket(marker_pt & 0x7F, seq, timestamp, data[12:],
                                          asyncio.get_running_loop().time()))

    def pcm(self, payload_type: int = 0) -> np.ndarray:
        """The PCMU audio received, decoded, in arrival order."""
        return g711.decode("pcmu", b"".join(p.payload for p in self.packets if p.payload_type == payload_type))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
