"""Two real RtpSessions on loopback: a tone end to end, latching, DTMF, hold, media timeout."""

from __future__ import annotations

import asyncio
import random
import socket

import numpy as np
import pytest
from aiortc.rtp import RtpPacket

from tests.media.rtp.conftest import tone_payloads, tone_share
from tests.sip.conftest import wait_for
from zorio_widget.media.aiortc_hook import ReceivedPacket
from zorio_widget.media.rtp import PortRange, PortsExhausted, RtpSession, g711
from zorio_widget.media.rtp.session import parse_rtp


async def negotiate(a: RtpSession, b: RtpSession) -> None:
    a.accept_answer(b.accept_offer(a.create_offer()))


async def stream(session: RtpSession, payloads: list[bytes], origin: str = "src") -> None:
    """Relay payloads into ``session`` as the bridge does, one per 20 ms."""
    session.outbound.play_forwarded(origin)
    for i, payload in enumerate(payloads):
        session.outbound.push(origin, 1234, 160 * i, payload)
        await asyncio.sleep(0.02)


def collect(session: RtpSession) -> list[ReceivedPacket]:
    got: list[ReceivedPacket] = []
    session.on_packet = lambda _leg, packet: got.append(packet)
    return got


async def test_a_tone_relayed_into_one_session_is_heard_by_the_other(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    await negotiate(a, b)
    assert a.codec is not None and a.codec.name == "pcmu" and b.codec == a.codec
    got = collect(b)
    await stream(a, tone_payloads(1000, 1.0))
    await wait_for(lambda: len(got) >= 45)
    assert b.state == "connected" and {p.mime_type for p in got} == {"audio/pcmu"}
    pcm = g711.decode("pcmu", b"".join(p.payload for p in got))
    assert tone_share(pcm, 1000) > 0.8 and tone_share(pcm, 1400) < 0.05
    seqs = [p.sequence_number for p in got]
    assert all((y - x) & 0xFFFF == 1 for x, y in zip(seqs, seqs[1:], strict=False))
    stamps = [p.timestamp for p in got]
    assert all((y - x) & 0xFFFFFFFF == 160 for x, y in zip(stamps, stamps[1:], strict=False))
    assert got[0].marker and not any(p.marker for p in got[1:])


async def test_pcma_when_the_offer_prefers_it(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    offer = a.create_offer().replace("RTP/AVP 0 8 101", "RTP/AVP 8 0 101")
    a.accept_answer(b.accept_offer(offer))
    assert a.codec is not None and a.codec.name == "pcma" and b.codec == a.codec


async def test_latching_sends_to_where_the_far_end_really_sends_from(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as void:
        void.bind(("127.0.0.1", 0))
        wrong_port = void.getsockname()[1]
        answer = b.accept_offer(a.create_offer()).replace(f"m=audio {b.local_port}", f"m=audio {wrong_port}")
        a.accept_answer(answer)
        assert a.remote_address == ("127.0.0.1", wrong_port) and not a.latched
        got_b = collect(b)
        collect(a)
        await stream(b, tone_payloads(800, 0.2))  # b sends from its real port
        await wait_for(lambda: a.latched)
        assert a.remote_address == ("127.0.0.1", b.local_port)
        await stream(a, tone_payloads(600, 0.3))
        await wait_for(lambda: len(got_b) >= 10)


async def test_a_stray_source_cannot_take_over_a_live_stream(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    await negotiate(a, b)
    collect(a)
    send = asyncio.create_task(stream(b, tone_payloads(800, 0.6)))
    await wait_for(lambda: a.latched)
    dropped = a.dropped
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as intruder:
        packet = bytes([0x80, 0]) + b"\x00\x01" + b"\x00" * 8 + b"\xff" * 160
        intruder.sendto(packet, ("127.0.0.1", a.local_port))
        await wait_for(lambda: a.dropped > dropped)  # the intruder's packet was seen (not a fixed 0.1 s)
    assert a.remote_address == ("127.0.0.1", b.local_port) and a.dropped >= 1
    await send


async def test_dtmf_events_both_ways(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    await negotiate(a, b)
    digits_b: list[str] = []
    digits_a: list[str] = []
    b.on_dtmf, a.on_dtmf = digits_b.append, digits_a.append
    assert a.telephone_event == (101, 8000)
    assert a.send_dtmf("12#")
    assert b.send_dtmf("*9")
    await wait_for(lambda: digits_b == ["1", "2", "#"] and digits_a == ["*", "9"])


async def test_hold_stops_the_held_side_sending(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    await negotiate(a, b)
    a.accept_answer(b.accept_offer(a.create_offer("sendonly")))
    assert a.local_direction == "sendonly" and b.local_direction == "recvonly"
    got_a, got_b = collect(a), collect(b)
    await asyncio.gather(stream(a, tone_payloads(500, 0.3), "x"), stream(b, tone_payloads(700, 0.3), "y"))
    await wait_for(lambda: len(got_b) >= 10)  # not a fixed 0.1 s: a loaded machine delivers late
    await asyncio.sleep(0.1)  # a packet to the held party would show by now
    assert len(got_b) >= 10 and got_a == [], "the held party must not send"
    a.accept_answer(b.accept_offer(a.create_offer("sendrecv")))
    await stream(b, tone_payloads(700, 0.2), "y")
    await wait_for(lambda: len(got_a) >= 5)


async def test_silence_from_the_far_end_fails_the_leg() -> None:
    ports = PortRange(31000, 31099)
    a = RtpSession(ports, local_address="127.0.0.1", media_timeout_s=0.4)
    b = RtpSession(ports, local_address="127.0.0.1", media_timeout_s=0)
    await a.open()
    await b.open()
    failed: list[RtpSession] = []
    a.on_failed = failed.append
    await negotiate(a, b)
    await wait_for(lambda: failed == [a], within=5)
    await a.closed.wait()
    assert a.state == "failed"
    await b.close()


async def test_garbage_and_unnegotiated_payload_types_are_dropped(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    await negotiate(a, b)
    got = collect(a)
    rng = np.random.default_rng(1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(200):  # random bytes, never version 2 (a valid RTP header would be taken)
            junk = bytearray(rng.bytes(int(rng.integers(1, 300))))
            junk[0] &= 0x3F
            s.sendto(bytes(junk), ("127.0.0.1", a.local_port))
        s.sendto(b"\x80\x00\x00", ("127.0.0.1", a.local_port))  # truncated header
        s.sendto(bytes([0x8F, 0]) + b"\x00" * 14, ("127.0.0.1", a.local_port))  # 15 CSRCs announced, none there
        s.sendto(bytes([0x80, 18]) + b"\x00" * 10 + b"x" * 20, ("127.0.0.1", a.local_port))  # G.729
        s.sendto(bytes([0x80, 0xC8]) + b"\x00" * 30, ("127.0.0.1", a.local_port))  # RTCP SR
    await wait_for(lambda: a.dropped >= 150)  # not a fixed 0.2 s: a loaded machine reads them late
    await asyncio.sleep(0.2)  # had one of the last ones been taken, it would show by now
    assert got == [] and a.dropped >= 150 and a.state == "connecting"


async def test_close_frees_the_port_and_the_range_can_run_out() -> None:
    ports = PortRange(32000, 32002)
    sessions = [RtpSession(ports, local_address="127.0.0.1") for _ in range(2)]
    for s in sessions:
        await s.open()
    assert ports.in_use == {32000, 32002}
    extra = RtpSession(ports, local_address="127.0.0.1")
    try:
        await extra.open()
        raise AssertionError("a third session fit in a two-port range")
    except PortsExhausted:
        pass
    await sessions[0].close()
    await extra.open()
    for s in (sessions[1], extra):
        await s.close()
    assert ports.in_use == set()


async def test_clip_source_plays_g711_ringback(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    await negotiate(a, b)
    got = collect(b)
    a.outbound.play_clip("ringback")
    await wait_for(lambda: len(got) >= 60, within=10)  # the first second: 425 Hz on
    pcm = g711.decode("pcmu", b"".join(p.payload for p in got[-40:]))
    assert tone_share(pcm, 425) > 0.5 or not np.any(pcm)  # on or off part of the cadence
    assert any(tone_share(g711.decode("pcmu", p.payload), 425) > 0.5 for p in got)


@pytest.mark.parametrize("seed", range(20))
def test_parse_rtp_reads_what_aiortc_reads(seed: int) -> None:
    """The trunk leg's header parser agrees with aiortc's RtpPacket on CSRCs, extensions, padding."""
    rnd = random.Random(seed)
    packet = RtpPacket(payload_type=rnd.choice([0, 8, 101]), marker=rnd.randint(0, 1),
                       sequence_number=rnd.randrange(65536), timestamp=rnd.randrange(2**32), ssrc=rnd.randrange(2**32))
    packet.csrc = [rnd.randrange(2**32) for _ in range(rnd.randint(0, 3))]
    packet.payload = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 200)))
    data = packet.serialize()
    if seed % 3 == 0:  # padding, as a carrier may add
        pad = rnd.randint(1, 8)
        data = bytes([data[0] | 0x20]) + data[1:] + bytes(pad - 1) + bytes([pad])
    if seed % 4 == 0:  # a one-word header extension after the CSRCs
        at = 12 + 4 * len(packet.csrc)
        data = bytes([data[0] | 0x10]) + data[1:at] + b"\xbe\xde\x00\x01" + b"\x10\xaa\x00\x00" + data[at:]
    expected = RtpPacket.parse(data)
    assert parse_rtp(data) == (expected.payload_type, bool(expected.marker), expected.sequence_number,
                               expected.timestamp, expected.ssrc, expected.payload)


def test_parse_rtp_refuses_truncated_packets() -> None:
    assert parse_rtp(b"\x80\x00" * 5) is None
    assert parse_rtp(b"\x90" + b"\x00" * 11 + b"\xbe\xde") is None  # extension header cut
    assert parse_rtp(b"\xa0" + b"\x00" * 11 + b"\x01\x40") is None  # padding longer than the packet
