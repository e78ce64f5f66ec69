"""The upgrade tripwire: ``verify_aiortc_internals`` fails loudly where aiortc, aioice, pylibsrtp or
asyncio no longer look like what the hook was written for, instead of silently breaking RTCP or
audio. ``install`` runs it; tests call it too (tests/media/aiortc_hook/).

Checked without creating any aiortc object: the versions, the names of ``inventory.py`` (where
the libraries assign them), the signatures of the methods that are replaced, and the lines of
aiortc's and aioice's sources that the copies and the fast paths (``receive``, ``sockets``,
``send``, and ``native/_fastrelay.c``) stand in for. Before changing the pins, re-measure the
encoded relay (docs/MEDIA-NOTES.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import aioice
import aiortc
import pylibsrtp
from aioice.ice import StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender
from aiortc import clock as aiortc_clock
from aiortc import rtcrtpsender as aiortc_rtcrtpsender
from aiortc.codecs import CODECS
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtcrtpsender import RTCEncodedFrame
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

from . import receive, send, sockets
from .inventory import (
    AIOICE_VERSION,
    AIORTC_VERSION,
    ASYNCIO_DATAGRAM_TRANSPORT,
    ASYNCIO_SELECTOR_LOOP,
    ASYNCIO_SELECTOR_TRANSPORT,
    DTLS_INIT_ATTRS,
    ICE_CONNECTION_INIT_ATTRS,
    RECEIVER_INIT_ATTRS,
    SENDER_ATTRS,
    SRTP_SESSION_INIT_ATTRS,
    AiortcInternalsChanged,
    asyncio_private,
)
from .send import _extension_block, _negotiated_abs_send_time, _ntp_now, _serialize


def verify_aiortc_internals() -> None:
    """Raise ``AiortcInternalsChanged`` if aiortc differs from what the hook relies on.

    Checked without creating any aiortc object: the version, the method we wrap (name and
    parameter names, since aiortc calls it with ``arrival_time_ms=`` as a keyword), the private
    attributes the stock ``__init__`` assigns, ``StreamStatistics``, the codec table and the
    sender's pre-encoded (``av.Packet``) path.
    """
    problems: list[str] = []
    if aiortc.__version__ != AIORTC_VERSION:
        problems.append(f"aiortc {aiortc.__version__} installed, {AIORTC_VERSION} required")
    if aioice.__version__ != AIOICE_VERSION:
        problems.append(f"aioice {aioice.__version__} installed, {AIOICE_VERSION} required")

    method = receive._original_handle_rtp_packet or getattr(RTCRtpReceiver, "_handle_rtp_packet", None)
    if method is None or not inspect.iscoroutinefunction(method):
        problems.append("RTCRtpReceiver._handle_rtp_packet is missing or not a coroutine")
    else:
        params = list(inspect.signature(method).parameters)
        if params != ["self", "packet", "arrival_time_ms"]:
            problems.append(f"RTCRtpReceiver._handle_rtp_packet parameters are {params}")

    assigned = set(RTCRtpReceiver.__init__.__code__.co_names)
    for attr in RECEIVER_INIT_ATTRS:
        if attr not in assigned:
            problems.append(f"RTCRtpReceiver.__init__ no longer sets {attr}")

    stats_params = list(inspect.signature(StreamStatistics.__init__).parameters)
    if stats_params != ["self", "clockrate"] or not callable(getattr(StreamStatistics, "add", None)):
        problems.append(f"StreamStatistics changed (init parameters {stats_params})")

    if not isinstance(CODECS.get("audio"), list):
        problems.append("aiortc.codecs.CODECS['audio'] is not a list")

    from aiortc.codecs.opus import OpusEncoder

    sender_src = inspect.getsource(RTCRtpSender._next_encoded_frame)
    if "isinstance(data, Frame)" not in sender_src or ".pack(data)" not in sender_src:
        problems.append("RTCRtpSender no longer packs pre-encoded av.Packet data")
    if not callable(getattr(OpusEncoder, "pack", None)):
        problems.append("OpusEncoder.pack is missing")
    problems += _sender_problems()

    if problems:
        raise AiortcInternalsChanged(
            "zorio_widget.media.aiortc_hook cannot be used with this aiortc: "
            + "; ".join(problems)
            + ". Re-measure the encoded relay (docs/MEDIA-NOTES.md) before changing the pin."
        )


def _sender_problems() -> list[str]:
    """Check that the stock ``_run_rtp``/``send`` are still the ones ``send._run_rtp`` copies."""
    problems: list[str] = []
    run_rtp = send._original_run_rtp or RTCRtpSender._run_rtp
    send_method = send._original_send or RTCRtpSender.send
    for method, params in ((run_rtp, ["self", "codec"]), (send_method, ["self", "parameters"])):
        if not inspect.iscoroutinefunction(method):
            problems.append(f"RTCRtpSender.{method.__name__} is not a coroutine")
        elif list(inspect.signature(method).parameters) != params:
            problems.append(f"RTCRtpSender.{method.__name__} parameters changed")
    assigned = set(RTCRtpSender.__init__.__code__.co_names) | set(RTCRtpSender.replaceTrack.__code__.co_names)
    missing = [a for a in SENDER_ATTRS if a not in assigned and not hasattr(RTCRtpSender, a)]
    if missing:
        problems.append(f"RTCRtpSender lacks {missing}")
    try:
        run_src = inspect.getsource(run_rtp)
        send_src = inspect.getsource(send_method)
    except (OSError, TypeError):
        return [*problems, "RTCRtpSender source is not available"]
    for needle in (
        "sequence_number = random_sequence_number()",
        "timestamp_origin = random32()",
        "await self._next_encoded_frame(codec)",
        "packet.marker = (i == len(enc_frame.payloads) - 1) and 1 or 0",
        "packet.extensions.mid = self.__mid",
        "await self.transport._send_rtp(packet_bytes)",
        "self.__rtp_exited.set()",
    ):
        if needle not in run_src:
            problems.append(f"RTCRtpSender._run_rtp no longer contains {needle!r}")
    if "self._run_rtp(parameters.codecs[0])" not in send_src:
        problems.append("RTCRtpSender.send no longer starts _run_rtp(parameters.codecs[0])")
    problems += _fast_path_problems()
    problems += _relay_problems()
    for name in ("random_sequence_number", "random32"):
        if not callable(getattr(aiortc_rtcrtpsender, name, None)):
            problems.append(f"aiortc.rtcrtpsender.{name} is missing")
    return problems


def _fast_path_problems() -> list[str]:
    """What the speed-ups of the ``_run_rtp`` copy assume: pre-encoded Opus is only "packed"
    (payload unchanged, ``pts`` at 48 kHz kept as the timestamp), a disabled sender drops what
    the track returned, ``RTCEncodedFrame(payloads, timestamp, audio_level)``, the NTP clock
    format of ``aiortc.clock`` and ``HeaderExtensionsMap.set`` leaving out unnegotiated ids."""
    from fractions import Fraction

    from aiortc.codecs import opus as aiortc_opus
    from aiortc.rtcrtpsender import RTCRtpSender as Sender

    problems: list[str] = []
    try:
        next_src = inspect.getsource(Sender._next_encoded_frame)
        pack_src = inspect.getsource(aiortc_opus.OpusEncoder.pack)
    except (OSError, TypeError):
        return ["aiortc sender/Opus source is not available"]
    for needle in (
        "data = await self.__track.recv()",
        "if not self._enabled:\n            return None",
        "payloads, timestamp = self.__encoder.pack(data)",
        "return RTCEncodedFrame(payloads, timestamp, audio_level)",
    ):
        if needle not in next_src:
            problems.append(f"RTCRtpSender._next_encoded_frame no longer contains {needle!r}")
    if "convert_timebase(packet.pts, packet.time_base, TIME_BASE)" not in pack_src or "[bytes(packet)]" not in pack_src:
        problems.append("OpusEncoder.pack no longer returns ([bytes(packet)], pts at 48 kHz)")
    if getattr(aiortc_opus, "TIME_BASE", None) != Fraction(1, 48000):
        problems.append("aiortc.codecs.opus.TIME_BASE is not 1/48000")
    if list(inspect.signature(RTCEncodedFrame).parameters) != ["payloads", "timestamp", "audio_level"]:
        problems.append("RTCEncodedFrame fields changed")
    if abs(_ntp_now() - aiortc_clock.current_ntp_time()) > (1 << 32) // 10:
        problems.append("aiortc.clock.current_ntp_time no longer matches _ntp_now")
    probe = HeaderExtensionsMap()
    if _negotiated_abs_send_time(probe) or probe.set(HeaderExtensions(mid="0"))[1]:
        problems.append("HeaderExtensionsMap.set writes extensions that were not negotiated")
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

    probe.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
        RTCRtpHeaderExtensionParameters(id=2, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
    ]))
    for extensions_map, mid in ((probe, "audio0"), (HeaderExtensionsMap(), "0"), (probe, None)):
        for marker in (0, 1):
            packet = RtpPacket(payload_type=111, sequence_number=65535, timestamp=0xFFFFFFF0, ssrc=0xDEADBEEF)
            packet.marker, packet.payload = marker, b"\xf8\x01\x02"
            packet.extensions.mid = mid
            block = _extension_block(extensions_map, mid)
            fast = _serialize(111, marker, 65535, 0xFFFFFFF0, 0xDEADBEEF, block, packet.payload)
            if fast != packet.serialize(extensions_map):
                problems.append("RtpPacket.serialize no longer matches aiortc_hook.send._serialize")
                return problems
    return problems


def _relay_problems() -> list[str]:
    """What ``_FastReceive``, ``DirectSend`` and the aioice patches assume of aioice, aiortc's
    DTLS transport and asyncio: where a datagram goes, where the SRTP sessions, router and
    counters live, how a nominated pair sends, and what ``StreamStatistics.add`` reads."""
    import re

    from aioice.ice import CandidatePair, Connection
    from aiortc.rtcdtlstransport import RtpRouter
    from aiortc.rtcicetransport import RTCIceTransport

    problems: list[str] = []
    datagram_received = sockets._original_datagram_received or StunProtocol.datagram_received
    connection_made = sockets._original_connection_made or StunProtocol.connection_made
    needles: tuple[tuple[Callable[..., Any], str], ...] = (
        (datagram_received, "self.receiver.data_received(data, self.local_candidate.component)"),
        (connection_made, "self.transport = cast(asyncio.DatagramTransport, transport)"),
        (Connection.data_received, "self._queue.put_nowait((data, component))"),
        (Connection.sendto, "await active_pair.protocol.send_data(data, active_pair.remote_addr)"),
        (StunProtocol.send_data, "self.transport.sendto(data, addr)"),
        (RTCDtlsTransport._recv_next, "data = self._rx_srtp.unprotect(data)"),
        (RTCDtlsTransport._recv_next, "first_byte > 127 and first_byte < 192 and self._rx_srtp"),
        (RTCDtlsTransport._send_rtp, "data = self._tx_srtp.protect(data)"),
        (RTCDtlsTransport._send_rtp, "await self.transport._send(data)"),
        (RtpRouter.route_rtp, "ssrc_receiver = self.ssrc_table.get(packet.ssrc)"),
        (RTCIceTransport.__init__, "self._send = self._connection.send"),
        # _fastrelay.Reader stands in for the datagram transport's reader
        (asyncio_private(ASYNCIO_DATAGRAM_TRANSPORT)._read_ready, "data, addr = self._sock.recvfrom(self.max_size)"),
        (asyncio_private(ASYNCIO_DATAGRAM_TRANSPORT)._read_ready, "self._protocol.datagram_received(data, addr)"),
        (asyncio_private(ASYNCIO_SELECTOR_TRANSPORT).close, "self._loop._remove_reader(self._sock_fd)"),
        (asyncio_private(ASYNCIO_SELECTOR_LOOP)._add_reader, "reader.cancel()"),
    )
    for function, needle in needles:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            problems.append(f"{function.__qualname__} source is not available")
            continue
        if needle not in source:
            problems.append(f"{function.__qualname__} no longer contains {needle!r}")
    dtls_names = set(RTCDtlsTransport.__init__.__code__.co_names)
    for attr in DTLS_INIT_ATTRS:
        if attr not in dtls_names:
            problems.append(f"RTCDtlsTransport.__init__ no longer sets {attr}")
    for attr in ICE_CONNECTION_INIT_ATTRS:
        if attr not in Connection.__init__.__code__.co_names:
            problems.append(f"aioice Connection.__init__ no longer sets {attr}")
    problems += _srtp_problems()
    if not isinstance(getattr(CandidatePair, "remote_addr", None), property):
        problems.append("aioice CandidatePair.remote_addr is not a property")
    stats_source = inspect.getsource(StreamStatistics.add)
    for needle in (  # what native/srtp_side.c's add_statistics copies
        "arrival = int(time.time() * self._clockrate)",
        "self.cycles += 1 << 16",
        "self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)",
        "if packet.timestamp != self._last_timestamp and self.packets_received > 1:",
    ):
        if needle not in stats_source:
            problems.append(f"StreamStatistics.add no longer contains {needle!r}")
    read = set(re.findall(r"packet\.(\w+)", stats_source))
    if read != {"sequence_number", "timestamp"}:
        problems.append(f"StreamStatistics.add reads packet.{sorted(read)}")
    if not isinstance(getattr(asyncio_private(ASYNCIO_DATAGRAM_TRANSPORT), "max_size", None), int):
        problems.append("asyncio's datagram transport has no max_size")
    if any(fb.type == "nack" for c in CODECS["audio"] for fb in c.rtcpFeedback):
        problems.append("aiortc negotiates NACK for audio: DirectSend must keep the RTP history")
    return problems


def _srtp_problems() -> list[str]:
    """What ``sockets.native_ingress_parts`` and ``native_egress_parts`` hand the native route of pylibsrtp: each session's
    libsrtp context and the library's protect/unprotect entry points."""
    from pylibsrtp import _binding

    problems = [
        f"pylibsrtp.Session.__init__ no longer sets {attr}"
        for attr in SRTP_SESSION_INIT_ATTRS
        if attr not in pylibsrtp.Session.__init__.__code__.co_names
    ]
    for name in ("srtp_protect", "srtp_unprotect"):
        if not hasattr(getattr(_binding, "lib", None), name) or not hasattr(_binding, "ffi"):
            problems.append(f"pylibsrtp._binding lacks ffi or lib.{name}")
    return problems
