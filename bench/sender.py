"""CPU per packet of the server's send path: `python -m bench.sender`.

A leg's ``OutboundAudio`` gets pushed Opus payloads (what the bridge does per relayed packet) and
its sender, aiortc's ``RTCRtpSender`` with aiortc_hook's copied ``_run_rtp``, sends them. Two paths:

- ``loop``: the sender task wakes up, packetizes and hands the packet to a fake DTLS transport (no
  SRTP, no socket). This is how generated audio (ringback, music, DTMF) and relayed packets that
  find the sender busy are sent.
- ``direct``: the relay's path. ``push`` sends at once through ``aiortc_hook.DirectSend``
  (serialize, real SRTP protect, a real ``sendto`` to a local UDP socket), no task wake-up.

The number isolates what ``aiortc_hook`` and ``outbound`` cost per relayed packet. The full picture,
with the receive path and the kernel, is ``bench.calls``; bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from types import SimpleNamespace
from typing import Any

from aioice.ice import StunProtocol
from aiortc import RTCRtpSender
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import (
    RTCRtcpParameters,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from pylibsrtp import Policy, Session

from zorio_widget.media import aiortc_hook
from zorio_widget.media.outbound import OutboundAudio, Source


class _FakeDtlsTransport:
    """What ``RTCRtpSender`` (and, with ``connection``, ``DirectSend``) needs of an
    ``RTCDtlsTransport``; counts the packets the sender loop sends."""

    _stats_id = "bench"
    state = "connected"

    def __init__(self, connection: Any = None) -> None:
        self.packets = 0
        if connection is not None:  # DirectSend: an ICE connection, SRTP keys, DTLS counters
            self.transport = SimpleNamespace(_connection=connection)
            self._state = DtlsState.CONNECTED
            self._tx_srtp = Session(Policy(key=bytes(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND))
            for name in ("tx_bytes", "tx_packets"):
                setattr(self, f"_RTCDtlsTransport__{name}", 0)

    def _register_rtp_sender(self, *_args: object) -> None:
        pass

    def _unregister_rtp_sender(self, *_args: object) -> None:
        pass

    async def _send_rtp(self, _data: bytes) -> None:
        self.packets += 1


async def _udp_pair() -> tuple[Any, asyncio.DatagramTransport, _Counter]:
    """An aioice ``StunProtocol`` on a local socket (what a nominated pair sends through), and a
    counting sink socket it sends to."""
    loop = asyncio.get_running_loop()
    sink, counter = await loop.create_datagram_endpoint(_Counter, local_addr=("127.0.0.1", 0))
    udp, protocol = await loop.create_datagram_endpoint(lambda: StunProtocol(None), local_addr=("127.0.0.1", 0))
    pair = SimpleNamespace(protocol=protocol, remote_addr=sink.get_extra_info("sockname"))
    return SimpleNamespace(_nominated={1: pair}), sink, counter


class _Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets += 1


async def measure(packets: int, direct: bool = False) -> float:
    """Microseconds of CPU per relayed packet."""
    aiortc_hook.install()
    connection, sink, counter = await _udp_pair() if direct else (None, None, None)
    transport = _FakeDtlsTransport(connection)
    track = OutboundAudio("bench", Source("forward", origin="peer"))
    sender = RTCRtpSender(track, transport)  # type: ignore[arg-type]
    opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
    await sender.send(RTCRtpSendParameters(
        codecs=[opus],
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
            RTCRtpHeaderExtensionParameters(id=2, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        ],
        muxId="0",
        rtcp=RTCRtcpParameters(cname="bench", ssrc=1, mux=True),
    ))
    payload = bytes(120)
    await asyncio.sleep(0)
    start = time.process_time()
    for i in range(packets):
        track.push("peer", 1, i * 960, payload)
        await asyncio.sleep(0)  # loop: the sender task takes the packet ...
        await asyncio.sleep(0)  # ... and sends it (direct: the sink socket reads it)
    elapsed = time.process_time() - start
    await asyncio.sleep(0.05)
    await sender.stop()
    if counter is not None and sink is not None:
        sink.close()
        # all but the first packet or two (sent before the loop first parked) went out directly
        assert transport.packets <= 5 and counter.packets >= packets * 0.99, (transport.packets, counter.packets)
    else:
        assert transport.packets >= packets, transport.packets
    return elapsed / packets * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sender", description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=50000)
    args = parser.parse_args()
    loop_us = asyncio.run(measure(args.packets))
    direct_us = asyncio.run(measure(args.packets, direct=True))
    print(f"send path, sender loop:  {loop_us:.1f} us of CPU per relayed packet (no SRTP, no socket)")
    print(f"send path, DirectSend:   {direct_us:.1f} us of CPU per relayed packet (SRTP and sendto included;"
          " the sink's recvfrom too)")


if __name__ == "__main__":
    main()
