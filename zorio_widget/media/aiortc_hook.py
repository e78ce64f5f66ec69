"""The one module that touches aiortc (and aioice) internals (pinned: aiortc==1.16.0).

Why it exists (DESIGN.md §4b, MEDIA-NOTES.md): browser-to-browser audio is relayed as encoded
Opus packets. aiortc has no public way to get encoded packets out of a receiver, so we wrap
``RTCRtpReceiver._handle_rtp_packet`` and divert payloads *before* the jitter buffer and the
decoder thread. The wrapper still does the bookkeeping the stock method does first (active SSRC,
per-SSRC ``StreamStatistics``) so the receiver's RTCP receiver reports and ``getStats()`` stay
correct.

It also registers ``audio/telephone-event`` (48000 and 8000 Hz) in aiortc's codec table so that
browsers negotiate RFC 4733 DTMF. Those packets must never reach a decoder (``get_decoder`` raises
and kills the decoder thread), so the wrapper takes them out for *every* receiver in the process,
tapped or not.

Sending RFC 4733 events: aiortc's ``RTCRtpSender._run_rtp`` sends only ``parameters.codecs[0]``
and keeps the sequence number in a local variable, so nothing can be injected from outside. We
replace it with a faithful copy (``_run_rtp`` below) whose one extension point lets the track
relabel the packet it just returned (``RtpOverride``: payload type and marker), so events go out
on the audio's SSRC and sequence counter, at the timestamp the track gave them. ``send`` is
wrapped to remember the negotiated codecs (``sender_codecs``). The copy also skips per-packet
work that cannot change the bytes sent (CPU per relayed packet, bench/RESULTS.md): Opus payloads
come straight from tracks offering ``RAW_RECV_METHOD`` (no ``av.Packet``/``OpusEncoder.pack``),
one cheap NTP clock read per packet, ``abs-send-time`` only when negotiated, and the RTP header
written with a precomputed extension block (``_serialize``, checked against ``serialize``).

The relay's hot path (bench/RESULTS.md) bypasses aiortc's tasks altogether: for a receiver with
a sink, ``_FastReceive`` (installed as its aioice connection's ``data_received``) unprotects and
reads each SRTP packet inside the socket callback, and the outbound track sends the relayed
payload at once through its sender's ``DirectSend``, which shares the copied loop's SSRC,
sequence counter and timestamp origin. So one relayed packet is one callback: no queue, no task
wake-up, no ``RtpPacket`` objects. Two aioice patches serve it: media datagrams are not first
tried as STUN, and asyncio reads each datagram into a 64 KiB buffer rather than 256 KiB.

The native relay (``_fastrelay.c``, armed by ``native.py``) takes the steady state of that path
into C: ``native_route_parts`` gathers what a route needs of aiortc and aioice (SRTP sessions,
counters, the nominated pair's socket), ``install_native_readers`` lets the connection's sockets be
read by ``_fastrelay.Reader`` instead of asyncio's datagram transport.

Everything private we use is listed in ``verify_aiortc_internals()``; tests call it so an aiortc
upgrade fails loudly instead of silently breaking RTCP or audio.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import struct
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, cast

import aioice
import aiortc
import pylibsrtp
from aioice.ice import StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender
from aiortc import clock as aiortc_clock
from aiortc import rtcrtpsender as aiortc_rtcrtpsender
from aiortc.codecs import CODECS
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtcrtpsender import RTCEncodedFrame
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, HeaderExtensionsMap, RtpPacket
from aiortc.utils import uint16_add, uint32_add

try:
    from . import _fastrelay  # type: ignore[attr-defined]
except ImportError:  # not built: the Python relay path carries every packet (see native.py)
    _fastrelay = None

logger = logging.getLogger(__name__)

AIORTC_VERSION: Final = "1.16.0"
"""The only aiortc version whose internals this module was written against."""
AIOICE_VERSION: Final = "0.13.0"
"""The only aioice version whose internals the relay's receive and send paths use."""

TELEPHONE_EVENT_MIME: Final = "audio/telephone-event"
# Payload types offered by the server. They must not collide with aiortc's video table
# (97-102) or Opus (96); 110/126 are what Chrome itself uses for 48000/8000.
TELEPHONE_EVENT_PTS: Final = {48000: 110, 8000: 126}

# Name-mangled private attributes of RTCRtpReceiver that the tap reads and writes.
_ACTIVE_SSRC: Final = "_RTCRtpReceiver__active_ssrc"
_CODECS: Final = "_RTCRtpReceiver__codecs"
_REMOTE_STREAMS: Final = "_RTCRtpReceiver__remote_streams"
_PRIVATE_ATTRS: Final = (_ACTIVE_SSRC, _CODECS, _REMOTE_STREAMS)

# Name-mangled private attributes of RTCRtpSender used by the ``_run_rtp`` copy.
_S: Final = "_RTCRtpSender__"
_SENDER_ATTRS: Final = tuple(
    _S + name
    for name in (
        "track", "encoder", "mid", "rtp_started", "rtp_exited", "rtp_history",
        "rtp_header_extensions_map", "ntp_timestamp", "rtp_timestamp", "octet_count",
        "packet_count", "log_debug", "log_warning",
    )
)

_SINK_ATTR: Final = "_zorio_packet_sink"
_EVENTS_ONLY_ATTR: Final = "_zorio_events_only"
_CODECS_ATTR: Final = "_zorio_send_codecs"
_TAP_MARK: Final = "_zorio_tap"
OVERRIDE_METHOD: Final = "take_rtp_override"
"""A track may define ``take_rtp_override() -> RtpOverride | None``: called by the sender right
after each packet the track returned, it relabels that packet (see ``RtpOverride``)."""
RAW_RECV_METHOD: Final = "recv_opus_payload"
"""A track may define ``async recv_opus_payload() -> tuple[bytes, int]``: the Opus payload and its
RTP timestamp (48 kHz, before the sender's random origin), exactly what ``recv()`` would have
returned as an ``av.Packet`` and ``OpusEncoder.pack`` turned into ``([payload], timestamp)``. The
copied sender loop then skips the ``av.Packet`` round trip (only when sending Opus)."""
DIRECT_SEND_ATTR: Final = "direct_send"
"""A track with this attribute (initially ``None``) is given a ``DirectSend`` while the copied
sender loop runs it, and ``None`` again afterwards."""
_OPUS_MIME: Final = "audio/opus"
_SEQ_TS: Final = struct.Struct("!HI")
_SSRC: Final = struct.Struct("!I")
_FAST_RECEIVE_ATTR: Final = "_zorio_fast_receive"
_READER_ATTR: Final = "_zorio_native_reader"
_ACTIVE_MS_ATTR: Final = "_zorio_active_ssrc_ms"
ACTIVE_SSRC_REFRESH_MS: Final = 500
"How stale a receiver's active-SSRC time may be (aiortc reports sources of the last 10 s)."
UDP_RECV_BUFFER: Final = 65536
"Bytes asyncio reads a datagram into (see ``_stun_connection_made``)."
# Name-mangled private counters of RTCDtlsTransport (its getStats transport entry).
_DTLS_RX_BYTES: Final = "_RTCDtlsTransport__rx_bytes"
_DTLS_RX_PACKETS: Final = "_RTCDtlsTransport__rx_packets"
_DTLS_TX_BYTES: Final = "_RTCDtlsTransport__tx_bytes"
_DTLS_TX_PACKETS: Final = "_RTCDtlsTransport__tx_packets"
_DTLS_CONNECTED: Final = DtlsState.CONNECTED
_RTP_HEADER: Final = struct.Struct("!BBHLL")
_NTP_EPOCH_OFFSET_S: Final = 2208988800
"Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch)."


class AiortcInternalsChanged(RuntimeError):
    """aiortc no longer looks like the version the encoded relay was written for."""


class ReceivedPacket(NamedTuple):
    """One RTP packet diverted from a receiver before its jitter buffer (a tuple: one is built
    per relayed packet, and a frozen dataclass costs ~1.4 µs to build here, a tuple ~0.2 µs)."""

    payload: bytes
    "The RTP payload (an Opus frame, or an RFC 4733 event)."
    timestamp: int
    "RTP timestamp, in the codec's clock rate."
    sequence_number: int
    "RTP sequence number as sent by the remote peer."
    payload_type: int
    "Negotiated payload type."
    ssrc: int
    "Remote SSRC."
    marker: bool
    "RTP marker bit (start of a talkspurt / first packet of a DTMF event)."
    mime_type: str
    "Lower-case MIME type of the negotiated codec, e.g. ``audio/opus``."
    clock_rate: int
    "Clock rate of the negotiated codec."
    arrival_time_ms: int
    "aiortc's arrival time stamp (ms)."

    @property
    def is_telephone_event(self) -> bool:
        return self.mime_type == TELEPHONE_EVENT_MIME


@dataclass(frozen=True, slots=True)
class RtpOverride:
    """How the sender must send the packet the track has just returned (an RFC 4733 event).

    The packet keeps the sender's SSRC and takes the next sequence number; its timestamp is the
    track's ``pts`` as for audio (so events sit on the audio timeline). ``payload`` must equal the
    returned packet's bytes: a mismatch means the override is stale and it is ignored.
    """

    payload_type: int
    marker: bool
    payload: bytes


PacketSink = Callable[[ReceivedPacket], None]
"""Called on the event loop for each diverted packet; must be cheap and never block."""

_original_handle_rtp_packet: Callable[..., Any] | None = None
_original_send: Callable[..., Any] | None = None
_original_run_rtp: Callable[..., Any] | None = None
_original_datagram_received: Callable[..., Any] | None = None
_original_connection_made: Callable[..., Any] | None = None


def verify_aiortc_internals() -> None:
    """Raise ``AiortcInternalsChanged`` if aiortc differs from what this module relies on.

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

    method = _original_handle_rtp_packet or getattr(RTCRtpReceiver, "_handle_rtp_packet", None)
    if method is None or not inspect.iscoroutinefunction(method):
        problems.append("RTCRtpReceiver._handle_rtp_packet is missing or not a coroutine")
    else:
        params = list(inspect.signature(method).parameters)
        if params != ["self", "packet", "arrival_time_ms"]:
            problems.append(f"RTCRtpReceiver._handle_rtp_packet parameters are {params}")

    assigned = set(RTCRtpReceiver.__init__.__code__.co_names)
    for attr in (*_PRIVATE_ATTRS, "_enabled"):
        if attr not in assigned:
            problems.append(f"RTCRtpReceiver.__init__ no longer sets {attr}")

    stats_params = list(inspect.signature(StreamStatistics.__init__).parameters)
    if stats_params != ["self", "clockrate"] or not callable(getattr(StreamStatistics, "add", None)):
        problems.append(f"StreamStatistics changed (init parameters {stats_params})")

    if not isinstance(CODECS.get("audio"), list):
        problems.append("aiortc.codecs.CODECS['audio'] is not a list")

    from aiortc.codecs.opus import OpusEncoder
    from aiortc.rtcrtpsender import RTCRtpSender

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
            + ". Re-measure the encoded relay (MEDIA-NOTES.md) before changing the pin."
        )


def _sender_problems() -> list[str]:
    """Check that the stock ``_run_rtp``/``send`` are still the ones ``_run_rtp`` below copies."""
    problems: list[str] = []
    run_rtp = _original_run_rtp or RTCRtpSender._run_rtp
    send = _original_send or RTCRtpSender.send
    for method, params in ((run_rtp, ["self", "codec"]), (send, ["self", "parameters"])):
        if not inspect.iscoroutinefunction(method):
            problems.append(f"RTCRtpSender.{method.__name__} is not a coroutine")
        elif list(inspect.signature(method).parameters) != params:
            problems.append(f"RTCRtpSender.{method.__name__} parameters changed")
    assigned = set(RTCRtpSender.__init__.__code__.co_names) | set(RTCRtpSender.replaceTrack.__code__.co_names)
    missing = [a for a in _SENDER_ATTRS if a not in assigned and not hasattr(RTCRtpSender, a)]
    if missing:
        problems.append(f"RTCRtpSender lacks {missing}")
    try:
        run_src = inspect.getsource(run_rtp)
        send_src = inspect.getsource(send)
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
                problems.append("RtpPacket.serialize no longer matches aiortc_hook._serialize")
                return problems
    return problems


def _relay_problems() -> list[str]:
    """What ``_FastReceive``, ``DirectSend`` and the aioice patches assume of aioice, aiortc's
    DTLS transport and asyncio: where a datagram goes, where the SRTP sessions, router and
    counters live, how a nominated pair sends, and what ``StreamStatistics.add`` reads."""
    import re
    from asyncio import selector_events

    from aioice.ice import CandidatePair, Connection
    from aiortc.rtcdtlstransport import RtpRouter
    from aiortc.rtcicetransport import RTCIceTransport

    problems: list[str] = []
    datagram_received = _original_datagram_received or StunProtocol.datagram_received
    connection_made = _original_connection_made or StunProtocol.connection_made
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
        (_asyncio_private("_SelectorDatagramTransport")._read_ready, "data, addr = self._sock.recvfrom(self.max_size)"),
        (_asyncio_private("_SelectorDatagramTransport")._read_ready, "self._protocol.datagram_received(data, addr)"),
        (_asyncio_private("_SelectorTransport").close, "self._loop._remove_reader(self._sock_fd)"),
        (_asyncio_private("BaseSelectorEventLoop")._add_reader, "reader.cancel()"),
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
    for attr in ("_rx_srtp", "_tx_srtp", "_rtp_router", "_state", _DTLS_RX_BYTES, _DTLS_RX_PACKETS,
                 _DTLS_TX_BYTES, _DTLS_TX_PACKETS):
        if attr not in dtls_names:
            problems.append(f"RTCDtlsTransport.__init__ no longer sets {attr}")
    if "_nominated" not in Connection.__init__.__code__.co_names:
        problems.append("aioice Connection.__init__ no longer sets _nominated")
    if not isinstance(getattr(CandidatePair, "remote_addr", None), property):
        problems.append("aioice CandidatePair.remote_addr is not a property")
    stats_source = inspect.getsource(StreamStatistics.add)
    for needle in (  # what _fastrelay.c's add_statistics copies
        "arrival = int(time.time() * self._clockrate)",
        "self.cycles += 1 << 16",
        "self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)",
        "if packet.timestamp != self._last_timestamp and self.packets_received > 1:",
    ):
        if needle not in stats_source:
            problems.append(f"StreamStatistics.add no longer contains {needle!r}")
    from aiortc.mediastreams import MediaStreamTrack

    if "_MediaStreamTrack__ended" not in MediaStreamTrack.__init__.__code__.co_names:
        problems.append("MediaStreamTrack.__init__ no longer sets __ended (readyState)")
    read = set(re.findall(r"packet\.(\w+)", stats_source))
    if read != {"sequence_number", "timestamp"}:
        problems.append(f"StreamStatistics.add reads packet.{sorted(read)}")
    if not isinstance(getattr(getattr(selector_events, "_SelectorDatagramTransport", None), "max_size", None), int):
        problems.append("asyncio's datagram transport has no max_size")
    if any(fb.type == "nack" for c in CODECS["audio"] for fb in c.rtcpFeedback):
        problems.append("aiortc negotiates NACK for audio: DirectSend must keep the RTP history")
    return problems


def register_telephone_event() -> None:
    """Add ``audio/telephone-event`` at 48000 and 8000 Hz to aiortc's codec table (idempotent).

    The table is process-global: every peer connection created afterwards offers/accepts RFC 4733
    events. Opus stays first so it remains the preferred send codec.
    """
    audio = CODECS["audio"]
    present = {(c.mimeType.lower(), c.clockRate) for c in audio}
    for clock_rate, payload_type in TELEPHONE_EVENT_PTS.items():
        if (TELEPHONE_EVENT_MIME, clock_rate) not in present:
            audio.append(
                RTCRtpCodecParameters(
                    mimeType=TELEPHONE_EVENT_MIME,
                    clockRate=clock_rate,
                    channels=1,
                    payloadType=payload_type,
                )
            )


def install() -> None:
    """Verify aiortc, register telephone-event, wrap the receive path and the sender (idempotent)."""
    global _original_handle_rtp_packet, _original_send, _original_run_rtp
    global _original_datagram_received, _original_connection_made
    current = RTCRtpReceiver._handle_rtp_packet
    if getattr(current, _TAP_MARK, False):
        return
    verify_aiortc_internals()
    register_telephone_event()
    _original_handle_rtp_packet = current
    _original_send, _original_run_rtp = RTCRtpSender.send, RTCRtpSender._run_rtp
    for replacement in (_tapped_handle_rtp_packet, _send, _run_rtp):
        setattr(replacement, _TAP_MARK, True)
    RTCRtpSender.send = _send  # type: ignore[method-assign]
    RTCRtpSender._run_rtp = _run_rtp  # type: ignore[method-assign]
    RTCRtpReceiver._handle_rtp_packet = _tapped_handle_rtp_packet  # type: ignore[method-assign]
    _original_datagram_received = StunProtocol.datagram_received
    _original_connection_made = StunProtocol.connection_made
    setattr(_stun_datagram_received, _TAP_MARK, True)
    setattr(_stun_connection_made, _TAP_MARK, True)
    StunProtocol.datagram_received = _stun_datagram_received  # type: ignore[assignment]
    StunProtocol.connection_made = _stun_connection_made  # type: ignore[method-assign]
    logger.info("aiortc %s receive tap and event sender installed", aiortc.__version__)


def is_installed() -> bool:
    return bool(getattr(RTCRtpReceiver._handle_rtp_packet, _TAP_MARK, False))


def set_packet_sink(
    receiver: RTCRtpReceiver, sink: PacketSink | None, *, telephone_events_only: bool = False
) -> None:
    """Divert every packet of ``receiver`` to ``sink`` (``None`` restores the stock path).

    With ``telephone_events_only`` only RFC 4733 packets reach ``sink`` and audio keeps the stock
    (decoding) path, e.g. for a client that both plays audio and watches DTMF events.
    Raises ``AiortcInternalsChanged`` if this receiver lacks the private attributes we update.
    """
    if sink is not None:
        if not is_installed():
            install()
        missing = [a for a in _PRIVATE_ATTRS if not hasattr(receiver, a)]
        if missing:
            raise AiortcInternalsChanged(f"RTCRtpReceiver instance lacks {missing}")
    setattr(receiver, _SINK_ATTR, sink)
    setattr(receiver, _EVENTS_ONLY_ATTR, telephone_events_only)
    if sink is not None and not telephone_events_only:
        _install_fast_receive(receiver)


def sender_codecs(sender: RTCRtpSender) -> list[RTCRtpCodecParameters] | None:
    """The codecs ``sender`` was started with (first = the one audio is sent with), or ``None``
    before aiortc started it (it does once DTLS is connected)."""
    codecs: list[RTCRtpCodecParameters] | None = getattr(sender, _CODECS_ATTR, None)
    return codecs


async def _tapped_handle_rtp_packet(
    self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int
) -> None:
    """Replacement for ``RTCRtpReceiver._handle_rtp_packet``.

    Receivers without a sink keep the stock path except for telephone-event packets, which are
    accounted for and dropped so they never reach a decoder.
    """
    sink: PacketSink | None = getattr(self, _SINK_ATTR, None)
    codec, mime = _negotiated_codec(self, packet.payload_type)
    if sink is not None and mime != TELEPHONE_EVENT_MIME and getattr(self, _EVENTS_ONLY_ATTR, False):
        sink = None
    if sink is None and mime != TELEPHONE_EVENT_MIME:
        assert _original_handle_rtp_packet is not None
        await _original_handle_rtp_packet(self, packet, arrival_time_ms)
        return

    _divert(self, sink, codec, mime, packet.payload, packet.timestamp, packet.sequence_number,
            packet.payload_type, packet.ssrc, bool(packet.marker), arrival_time_ms)


def _negotiated_codec(receiver: RTCRtpReceiver, payload_type: int) -> tuple[RTCRtpCodecParameters | None, str]:
    """The receiver's codec for ``payload_type`` and its lower-case MIME type ("" if none)."""
    codec: RTCRtpCodecParameters | None = getattr(receiver, _CODECS).get(payload_type)
    return codec, codec.mimeType.lower() if codec is not None else ""


def _divert(
    receiver: RTCRtpReceiver, sink: PacketSink | None, codec: RTCRtpCodecParameters | None, mime: str,
    payload: bytes, timestamp: int, sequence_number: int, payload_type: int, ssrc: int, marker: bool,
    arrival_time_ms: int,
) -> None:
    """The stock receiver's bookkeeping before its jitter buffer (same order), then ``sink``."""
    if not receiver._enabled:
        return
    # The active-SSRC time (getSynchronizationSources keeps sources seen in the last 10 s) is a
    # datetime: refreshed at most every ACTIVE_SSRC_REFRESH_MS instead of built per packet.
    seen_ms: dict[int, int] | None = receiver.__dict__.get(_ACTIVE_MS_ATTR)
    if seen_ms is None:
        seen_ms = receiver.__dict__[_ACTIVE_MS_ATTR] = {}
    if arrival_time_ms - seen_ms.get(ssrc, -ACTIVE_SSRC_REFRESH_MS) >= ACTIVE_SSRC_REFRESH_MS:
        getattr(receiver, _ACTIVE_SSRC)[ssrc] = aiortc_clock.current_datetime()
        seen_ms[ssrc] = arrival_time_ms
    if codec is None:
        return
    received = ReceivedPacket(
        payload=payload,
        timestamp=timestamp,
        sequence_number=sequence_number,
        payload_type=payload_type,
        ssrc=ssrc,
        marker=marker,
        mime_type=mime,
        clock_rate=codec.clockRate,
        arrival_time_ms=arrival_time_ms,
    )
    streams: dict[int, StreamStatistics] = getattr(receiver, _REMOTE_STREAMS)
    stats = streams.get(ssrc)
    if stats is None:
        stats = streams[ssrc] = StreamStatistics(codec.clockRate)
    stats.add(received)  # type: ignore[arg-type]  # reads .sequence_number and .timestamp only

    if sink is not None:
        try:
            sink(received)
        except Exception:
            # An exception here would end aiortc's DTLS receive loop and with it the call.
            logger.exception("packet sink failed for ssrc %d", ssrc)


# -- fast receive: from the socket callback straight to the sink ---------------------------------
#
# The stock receive path costs a task switch and several coroutines per packet: aioice first
# tries to parse every datagram as STUN (a ValueError per media packet), queues it, the DTLS
# transport's task wakes up, unprotects, parses the header extensions into objects, routes and
# awaits the receiver. For a receiver with a sink, ``_FastReceive`` does the part that matters
# synchronously inside aioice's ``datagram_received``: unprotect, read the fixed header, the
# receiver's bookkeeping (``_divert``), the sink. Everything else (DTLS, RTCP, unknown SSRCs,
# receivers without a sink) still takes the stock queue, so RTCP and the handshake are untouched.


def _stun_datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
    """Replacement for aioice's ``StunProtocol.datagram_received``: RTP and RTCP (first byte
    128-191, RFC 7983; STUN's is 0-3) go to the connection without first being tried as STUN."""
    if data and cast(bytes, data)[0] & 0xC0 == 0x80:
        self.receiver.data_received(cast(bytes, data), self.local_candidate.component)
        return
    assert _original_datagram_received is not None
    _original_datagram_received(self, data, addr)


def _stun_connection_made(self: StunProtocol, transport: asyncio.BaseTransport) -> None:
    """Replacement for aioice's ``StunProtocol.connection_made``: asyncio's selector transport
    reads every datagram into a fresh ``max_size`` buffer, 256 KiB by default. That is above
    glibc's mmap threshold, so each received packet cost an mmap/munmap pair and page faults
    (~40 us of kernel time per packet here, bench/RESULTS.md). 64 KiB is still more than the
    largest UDP payload (65507 bytes), so nothing can be truncated, and stays on the heap."""
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = UDP_RECV_BUFFER  # type: ignore[attr-defined]
    assert _original_connection_made is not None
    _original_connection_made(self, transport)


def _parse_rtp_header(data: bytes) -> tuple[int, int, int, int, bytes] | None:
    """``(marker, payload type, sequence number, timestamp, payload)`` of an RTP packet, or
    ``None`` where ``RtpPacket.parse`` would raise ``ValueError``. Header extensions and CSRCs
    are skipped, their contents unchecked (the relay forwards only the payload; the router
    already knows the SSRC)."""
    length = len(data)
    if length < 12:
        return None
    first = data[0]
    if first >> 6 != 2:
        return None
    pos = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if pos + 4 > length:
            return None
        pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
    end = length
    if first & 0x20:
        padding = data[-1]
        if not padding or padding > length - pos:
            return None
        end -= padding
    if pos > end:
        return None
    second = data[1]
    sequence_number, timestamp = _SEQ_TS.unpack_from(data, 2)
    return second >> 7, second & 0x7F, sequence_number, timestamp, data[pos:end]


def _arrival_ms() -> int:
    """``aiortc.clock.current_ms()`` (ms since the NTP epoch) without two ``datetime`` objects."""
    return time.time_ns() // 1_000_000 + _NTP_EPOCH_OFFSET_S * 1000


class _FastReceive:
    """Installed as one aioice ``Connection``'s ``data_received`` (see the section comment)."""

    __slots__ = ("_dtls", "_fallback")

    def __init__(self, dtls: RTCDtlsTransport, fallback: Callable[[bytes, int], None]) -> None:
        self._dtls = dtls
        self._fallback = fallback

    def __call__(self, data: bytes, component: int) -> None:
        dtls = self._dtls
        srtp = dtls._rx_srtp
        # SRTP (not SRTCP) once keys exist, and the SSRC already routed to a receiver with a sink.
        if srtp is None or len(data) < 12 or data[0] & 0xC0 != 0x80 or 192 <= data[1] <= 208:
            self._fallback(data, component)
            return
        ssrc: int = _SSRC.unpack_from(data, 8)[0]
        receiver = dtls._rtp_router.ssrc_table.get(ssrc)
        sink: PacketSink | None = getattr(receiver, _SINK_ATTR, None)
        if sink is None or getattr(receiver, _EVENTS_ONLY_ATTR, False):
            self._fallback(data, component)
            return
        counters = dtls.__dict__
        counters[_DTLS_RX_BYTES] += len(data)
        counters[_DTLS_RX_PACKETS] += 1
        arrival_time_ms = _arrival_ms()
        try:
            data = srtp.unprotect(data)
        except pylibsrtp.Error:
            return  # stock: logged at debug level and dropped
        header = _parse_rtp_header(data)
        if header is None:
            return
        marker, payload_type, sequence_number, timestamp, payload = header
        tapped = cast(RTCRtpReceiver, receiver)
        codec, mime = _negotiated_codec(tapped, payload_type)
        _divert(tapped, sink, codec, mime, payload, timestamp, sequence_number, payload_type, ssrc,
                bool(marker), arrival_time_ms)


def _install_fast_receive(receiver: RTCRtpReceiver) -> None:
    """Give ``receiver``'s ICE connection the synchronous receive path (once per connection):
    ``_FastReceive``, behind the native ``Receive`` when the extension is built."""
    dtls = receiver.transport
    connection = dtls.transport._connection
    if getattr(connection, _FAST_RECEIVE_ATTR, None) is None:
        fast: Callable[[bytes, int], None] = _FastReceive(dtls, connection.data_received)
        if _fastrelay is not None:
            fast = _fastrelay.Receive(fast)
        connection.data_received = fast  # type: ignore[method-assign,assignment]
        setattr(connection, _FAST_RECEIVE_ATTR, fast)


# -- the native relay (``_fastrelay.c``): aiortc's half of a Route ---------------------------------
#
# A ``_fastrelay.Route`` relays one receiver's Opus SSRC to one sender in C, reading and writing
# the same attributes as the Python path above (so the two alternate freely, packet by packet).
# What it needs of aiortc and aioice is gathered here; ``native.py`` adds the leg and track.


def native_receive(receiver: RTCRtpReceiver) -> Any:
    """The native ``Receive`` installed on ``receiver``'s connection, or ``None``."""
    connection = getattr(getattr(receiver.transport, "transport", None), "_connection", None)
    fast = getattr(connection, _FAST_RECEIVE_ATTR, None)
    return fast if _fastrelay is not None and isinstance(fast, _fastrelay.Receive) else None


def _asyncio_private(name: str) -> Any:
    """A private class of ``asyncio.selector_events`` (typed as ``Any``: the stubs omit them)."""
    from asyncio import selector_events

    return getattr(selector_events, name)


def install_native_readers(receiver: RTCRtpReceiver) -> int:
    """Let ``_fastrelay.Reader`` read the UDP sockets of ``receiver``'s ICE connection instead
    of asyncio's ``_read_ready`` (see ``_fastrelay.c``); returns how many it took over. Only
    plain sockets of asyncio's selector loops; the transport's ``close`` removes the reader as
    it would its own. Call it once the connection is up (the sockets exist)."""
    from asyncio import selector_events

    datagram_transport = _asyncio_private("_SelectorDatagramTransport")
    receive = native_receive(receiver)
    connection = getattr(getattr(receiver.transport, "transport", None), "_connection", None)
    if receive is None or connection is None:
        return 0
    taken = 0
    for protocol in list(connection._protocols):
        transport = getattr(protocol, "transport", None)
        if (
            type(protocol) is not StunProtocol
            or not isinstance(transport, datagram_transport)
            or transport.is_closing()
            or getattr(protocol, _READER_ATTR, None) is not None
        ):
            continue
        loop: Any = transport._loop
        if not isinstance(loop, selector_events.BaseSelectorEventLoop):
            continue
        reader = _fastrelay.Reader(transport._sock_fd, receive, protocol, transport)
        loop._add_reader(transport._sock_fd, reader)  # type: ignore[attr-defined]
        setattr(protocol, _READER_ATTR, reader)
        taken += 1
    return taken


def native_route_parts(receiver: RTCRtpReceiver, ssrc: int, payload_type: int, direct: DirectSend) -> dict[str, Any] | None:
    """The aiortc/aioice arguments of a ``_fastrelay.Route`` from ``receiver``'s ``ssrc`` to
    ``direct``'s sender, or ``None`` where the Python path must keep the packets (no native
    receive, keys or statistics yet, a TURN pair, a non-numeric address...)."""
    from pylibsrtp._binding import ffi, lib

    if _fastrelay is None or native_receive(receiver) is None or not direct.ready():
        return None
    dtls_rx = receiver.transport
    rx_srtp, tx_srtp = dtls_rx._rx_srtp, direct._dtls._tx_srtp
    stats = getattr(receiver, _REMOTE_STREAMS).get(ssrc)
    seen_ms = receiver.__dict__.get(_ACTIVE_MS_ATTR)
    codec = getattr(receiver, _CODECS).get(payload_type)
    sock = direct._pair.protocol.transport.get_extra_info("socket")
    host, port = direct._remote
    if rx_srtp is None or tx_srtp is None or stats is None or seen_ms is None or codec is None or sock is None:
        return None
    if "%" in host:  # a scoped IPv6 address: let asyncio resolve it
        return None
    return {
        "dtls_rx": dtls_rx.__dict__,
        "rx_session": rx_srtp,
        "rx_ctx": int(ffi.cast("uintptr_t", rx_srtp._srtp[0])),
        "unprotect": int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_unprotect"))),
        "receiver": receiver.__dict__,
        "sink_key": _SINK_ATTR,
        "sink": receiver.__dict__.get(_SINK_ATTR),
        "stats": stats.__dict__,
        "seen_ms": seen_ms,
        "active": getattr(receiver, _ACTIVE_SSRC),
        "current_datetime": aiortc_clock.current_datetime,
        "ssrc": ssrc,
        "payload_type": payload_type,
        "clock_rate": float(codec.clockRate),
        "direct": direct,
        "sender": direct._sender.__dict__,
        "dtls_tx": direct._dtls.__dict__,
        "tx_session": tx_srtp,
        "tx_ctx": int(ffi.cast("uintptr_t", tx_srtp._srtp[0])),
        "protect": int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect"))),
        "connected": _DTLS_CONNECTED,
        "nominated": direct._connection._nominated,
        "pair": direct._pair,
        "sock": sock,
        "remote_host": host,
        "remote_port": port,
        "out_ssrc": direct._sender._ssrc,
        "out_payload_type": direct._payload_type,
        "timestamp_origin": direct.timestamp_origin,
        "block": direct._block,
    }


# -- sender ------------------------------------------------------------------------------------


def _ntp_now() -> int:
    """``aiortc.clock.current_ntp_time()`` (the same microsecond-resolution value) without
    building two ``datetime`` objects per packet."""
    us = time.time_ns() // 1000
    seconds, micro = divmod(us, 1_000_000)
    return ((seconds + _NTP_EPOCH_OFFSET_S) << 32) | ((micro << 32) // 1_000_000)


def _extension_block(extensions_map: HeaderExtensionsMap, mid: str | None) -> bytes:
    """The header-extension block ``RtpPacket.serialize`` writes for a packet whose only
    extension is ``mid`` (b"" if none was negotiated): it is the same for every packet."""
    profile, value = extensions_map.set(HeaderExtensions(mid=mid))
    return struct.pack("!HH", profile, len(value) >> 2) + value if value else b""


def _serialize(
    payload_type: int, marker: int, sequence_number: int, timestamp: int, ssrc: int, block: bytes, payload: bytes
) -> bytes:
    """= ``RtpPacket.serialize`` for a packet without CSRCs or padding whose header extensions
    are ``block`` (``_extension_block``); checked against it by ``_fast_path_problems``."""
    first = 0x90 if block else 0x80
    return _RTP_HEADER.pack(first, (marker << 7) | payload_type, sequence_number, timestamp, ssrc) + block + payload


def _negotiated_abs_send_time(extensions_map: HeaderExtensionsMap) -> bool:
    """Whether ``abs-send-time`` was negotiated (never for audio in aiortc 1.16): only then is
    it worth computing per packet. ``set`` drops extensions the map has no id for."""
    return bool(extensions_map.set(HeaderExtensions(abs_send_time=0))[1])


async def _send(self: RTCRtpSender, parameters: RTCRtpSendParameters) -> None:
    """Replacement for ``RTCRtpSender.send``: remember the codecs, then the stock method."""
    if getattr(self, _CODECS_ATTR, None) is None:
        setattr(self, _CODECS_ATTR, list(parameters.codecs))
    assert _original_send is not None
    await _original_send(self, parameters)


class DirectSend:
    """Sends one Opus payload at once on a running sender, from whatever callback has it.

    The copied sender loop (``_run_rtp``) hands one to each track that has a ``DIRECT_SEND_ATTR``
    attribute and shares its SSRC, sequence counter and timestamp origin with it. The track may
    use it only while the loop is parked waiting on the track (so the two never interleave):
    then a relayed packet goes from the receiving socket's callback to the sending socket with no
    task wake-up. The packet is exactly the one the loop would send (``_serialize``: the Opus
    payload type, marker set as stock aiortc does, the constant ``mid`` extension block), the
    RTCP sender-report counters move the same way. Not kept: the NACK history, since aiortc
    never negotiates NACK for audio (``_fast_path_problems`` checks that).
    """

    __slots__ = (
        "sequence_number", "timestamp_origin", "_sender", "_state", "_payload_type", "_block",
        "_dtls", "_connection", "_pair", "_remote",
    )

    def __init__(
        self, sender: RTCRtpSender, payload_type: int, block: bytes, sequence_number: int, timestamp_origin: int
    ) -> None:
        self.sequence_number = sequence_number
        "Next RTP sequence number, shared with the sender loop."
        self.timestamp_origin = timestamp_origin
        "Random RTP timestamp origin of the sender loop."
        self._sender = sender
        self._state = sender.__dict__
        self._payload_type = payload_type
        self._block = block
        self._dtls: RTCDtlsTransport = sender.transport
        # None for a transport that is not aiortc's DTLS-over-ICE (then only the loop sends)
        self._connection: Any = getattr(getattr(self._dtls, "transport", None), "_connection", None)
        self._pair: Any = None
        self._remote: tuple[str, int] = ("", 0)

    def ready(self) -> bool:
        """Whether ``send`` can put a packet on the wire now. If not, the caller hands the packet
        to the sender loop instead, which then behaves exactly as stock aiortc (errors included)."""
        dtls = self._dtls
        if self._connection is None or dtls._state is not _DTLS_CONNECTED or dtls._tx_srtp is None:
            return False
        pair = self._connection._nominated.get(1)
        if pair is None or type(pair.protocol) is not StunProtocol:  # e.g. a TURN relay: stock path
            return False
        if pair is not self._pair:
            self._pair, self._remote = pair, pair.remote_addr
        return True

    def send(self, payload: bytes, pts: int) -> None:
        """Send ``payload`` with RTP timestamp ``origin + pts`` (48 kHz); ``ready()`` first."""
        sender = self._sender
        if not sender._enabled:
            return  # stock: a disabled sender drops what its track returned
        timestamp = (self.timestamp_origin + pts) & 0xFFFFFFFF
        sequence_number = self.sequence_number
        packet = _serialize(self._payload_type, 1, sequence_number, timestamp, sender._ssrc, self._block, payload)
        self.sequence_number = (sequence_number + 1) & 0xFFFF
        g = self._state
        g[_S + "ntp_timestamp"] = _ntp_now()
        g[_S + "rtp_timestamp"] = timestamp
        g[_S + "octet_count"] += len(payload)
        g[_S + "packet_count"] += 1
        dtls = self._dtls
        data = dtls._tx_srtp.protect(packet)
        self._pair.protocol.transport.sendto(data, self._remote)
        counters = dtls.__dict__
        counters[_DTLS_TX_BYTES] += len(data)
        counters[_DTLS_TX_PACKETS] += 1


def _bind_direct_send(track: Any, direct: DirectSend | None) -> None:
    if track is not None and hasattr(track, DIRECT_SEND_ATTR):
        setattr(track, DIRECT_SEND_ATTR, direct)


async def _run_rtp(self: RTCRtpSender, codec: RTCRtpCodecParameters) -> None:
    """A copy of aiortc 1.16.0's ``RTCRtpSender._run_rtp`` with ONE extension point.

    After each frame, the track may return an ``RtpOverride`` (``OVERRIDE_METHOD``) for the
    packet it just produced: it is then sent with that payload type and marker (an RFC 4733
    event) instead of ``codec``'s, in the same SSRC and sequence space. Event packets do not
    update the (NTP, RTP) timestamp pair of RTCP sender reports (their timestamp is the event's
    start, not "now"). Speed-ups (same packets on the wire, see the module docstring) are marked;
    everything else is the stock loop (private attributes name-mangled).
    """
    g = self.__dict__
    log_debug = g[_S + "log_debug"]
    log_debug("- RTP started")
    g[_S + "rtp_started"].set()

    sequence_number = aiortc_rtcrtpsender.random_sequence_number()
    timestamp_origin = aiortc_rtcrtpsender.random32()
    # -- extension point 2: the sequence counter lives in ``direct`` (shared with DirectSend)
    # -- speed-ups (not in the stock loop; same packets on the wire): abs-send-time only when
    # negotiated, one clock read per packet, Opus payloads straight from tracks that offer
    # ``RAW_RECV_METHOD`` (no av.Packet + OpusEncoder.pack round trip), precomputed extensions.
    extensions_map: HeaderExtensionsMap = g[_S + "rtp_header_extensions_map"]
    abs_send_time = _negotiated_abs_send_time(extensions_map)
    raw_ok = (codec.mimeType or "").lower() == _OPUS_MIME
    payload_type = cast(int, codec.payloadType)
    mid = g[_S + "mid"]
    history = g[_S + "rtp_history"]
    block = _extension_block(extensions_map, mid)
    direct = DirectSend(self, payload_type, block, sequence_number, timestamp_origin)
    direct_ok = raw_ok and not abs_send_time
    bound: Any = None
    try:
        while True:
            track = g[_S + "track"]
            if track is not bound:  # replaceTrack: only the current track may send directly
                _bind_direct_send(bound, None)
                bound = track
                _bind_direct_send(track, direct if direct_ok else None)
            if not track:
                await asyncio.sleep(0.02)
                continue

            recv_raw = getattr(track, RAW_RECV_METHOD, None) if raw_ok else None
            if recv_raw is not None:
                # = _next_encoded_frame for pre-encoded Opus: read, drop if disabled, "pack"
                raw_payload, raw_timestamp = await recv_raw()
                enc_frame = (  # aiortc passes audio_level=None itself for packed data
                    RTCEncodedFrame([raw_payload], raw_timestamp, None) if self._enabled else None  # type: ignore[arg-type]
                )
            else:
                enc_frame = await self._next_encoded_frame(codec)
            # -- extension point: was that packet an event? (always asked, so none goes stale)
            take = getattr(track, OVERRIDE_METHOD, None)
            override: RtpOverride | None = take() if take is not None else None
            if enc_frame is None:
                continue
            if override is not None and enc_frame.payloads != [override.payload]:
                override = None
            # -- end of extension point

            timestamp = uint32_add(timestamp_origin, enc_frame.timestamp)

            for i, payload in enumerate(enc_frame.payloads):
                packet = RtpPacket(
                    payload_type=override.payload_type if override else payload_type,
                    sequence_number=direct.sequence_number,
                    timestamp=timestamp,
                )
                packet.ssrc = self._ssrc
                packet.payload = payload
                if override is not None:
                    packet.marker = int(override.marker)
                else:
                    packet.marker = (i == len(enc_frame.payloads) - 1) and 1 or 0

                now_ntp = _ntp_now()
                if abs_send_time:
                    packet.extensions.abs_send_time = (now_ntp >> 14) & 0x00FFFFFF
                packet.extensions.mid = mid
                if enc_frame.audio_level is not None:
                    packet.extensions.audio_level = (False, -enc_frame.audio_level)

                log_debug("> %s", packet)
                history[packet.sequence_number % RTP_HISTORY_SIZE] = packet
                if abs_send_time or enc_frame.audio_level is not None:
                    packet_bytes = packet.serialize(extensions_map)
                else:  # the same bytes (only mid, constant), without the per-packet map lookups
                    packet_bytes = _serialize(
                        packet.payload_type, packet.marker, packet.sequence_number, packet.timestamp,
                        packet.ssrc, block, payload,
                    )
                await self.transport._send_rtp(packet_bytes)

                if override is None:
                    g[_S + "ntp_timestamp"] = now_ntp
                    g[_S + "rtp_timestamp"] = packet.timestamp
                g[_S + "octet_count"] += len(payload)
                g[_S + "packet_count"] += 1
                direct.sequence_number = uint16_add(direct.sequence_number, 1)
    except (asyncio.CancelledError, ConnectionError, MediaStreamError):
        pass
    except Exception:
        # stock: RTCRtpSender.stop() waits for rtp_exited, so never leave without setting it
        getattr(self, _S + "log_warning")(traceback.format_exc())

    _bind_direct_send(bound, None)
    if g[_S + "track"]:
        g[_S + "track"].stop()
        g[_S + "track"] = None
    g[_S + "encoder"] = None
    log_debug("- RTP finished")
    g[_S + "rtp_exited"].set()
