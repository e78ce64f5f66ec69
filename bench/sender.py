"""CPU per packet of the server's send path, without sockets: `python -m bench.sender`.

A leg's ``OutboundAudio`` relays pushed Opus payloads through aiortc_hook's copied
``RTCRtpSender._run_rtp`` into a fake DTLS transport (no SRTP, no sendto). Each packet is one
``push`` (what the bridge does) plus the sender task waking up, packetizing and "sending" it, so
the number isolates what ``aiortc_hook`` and ``outbound`` cost per relayed packet (the full
picture, with the receive path and the kernel, is ``bench.calls``; bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import (
    RTCRtcpParameters,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)

from zorio_widget.media import aiortc_hook
from zorio_widget.media.outbound import OutboundAudio, Source


class _FakeDtlsTransport:
    """What ``RTCRtpSender`` needs of an ``RTCDtlsTransport``; counts the packets."""

    _stats_id = "bench"
    state = "connected"

    def __init__(self) -> None:
        self.packets = 0

    def _register_rtp_sender(self, *_args: object) -> None:
        pass

    def _unregister_rtp_sender(self, *_args: object) -> None:
        pass

    async def _send_rtp(self, _data: bytes) -> None:
        self.packets += 1


async def measure(packets: int) -> float:
    """Microseconds of CPU per relayed packet."""
    aiortc_hook.install()
    transport = _FakeDtlsTransport()
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
        await asyncio.sleep(0)  # the sender task takes the packet ...
        await asyncio.sleep(0)  # ... and sends it
    elapsed = time.process_time() - start
    await sender.stop()
    assert transport.packets >= packets, transport.packets
    return elapsed / packets * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sender", description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=50000)
    args = parser.parse_args()
    print(f"send path: {asyncio.run(measure(args.packets)):.1f} us of CPU per relayed packet")


if __name__ == "__main__":
    main()
