"""The receive tap: encoded packets out of an ``RTCRtpReceiver`` before its jitter buffer.

aiortc has no public way to get encoded packets out of a receiver, so its ``_handle_rtp_packet``
is replaced (``_tapped_handle_rtp_packet``) and payloads are diverted (``_divert``) *before* the
jitter buffer and the decoder thread. The replacement still does the bookkeeping the stock method
does first (active SSRC, per-SSRC ``StreamStatistics``) so the receiver's RTCP receiver reports
and ``getStats()`` stay correct (docs/MEDIA-NOTES.md).

RFC 4733 packets must never reach a decoder (``get_decoder`` raises and kills the decoder thread),
so the replacement takes them out for *every* receiver in the process, tapped or not.

The relay's hot path skips aiortc's tasks altogether: for a receiver with a sink, ``_FastReceive``
(installed as its aioice connection's ``data_received``, behind the native ``Receive`` when the
extension is built) unprotects and reads each SRTP packet inside the socket callback.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from typing import Any, Final, NamedTuple, cast

import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver
from aiortc import clock as aiortc_clock
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from ..native import fastrelay
from .inventory import (
    ACTIVE_MS_ATTR,
    DTLS_RX_BYTES,
    DTLS_RX_PACKETS,
    EVENTS_ONLY_ATTR,
    FAST_RECEIVE_ATTR,
    NTP_EPOCH_OFFSET_S,
    RECEIVER_ACTIVE_SSRC,
    RECEIVER_CODECS,
    RECEIVER_REMOTE_STREAMS,
    SINK_ATTR,
    TAP_MARK,
    TELEPHONE_EVENT_MIME,
)

logger = logging.getLogger(__name__)

ACTIVE_SSRC_REFRESH_MS: Final = 500
"How stale a receiver's active-SSRC time may be (aiortc reports sources of the last 10 s)."
_SEQ_TS: Final = struct.Struct("!HI")
_SSRC: Final = struct.Struct("!I")

_original_handle_rtp_packet: Callable[..., Any] | None = None
"aiortc's own ``RTCRtpReceiver._handle_rtp_packet``, once ``patch`` replaced it."


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


PacketSink = Callable[[ReceivedPacket], None]
"""Called on the event loop for each diverted packet; must be cheap and never block."""


def patch() -> None:
    """Replace ``RTCRtpReceiver._handle_rtp_packet`` (``install`` calls it once)."""
    global _original_handle_rtp_packet
    _original_handle_rtp_packet = RTCRtpReceiver._handle_rtp_packet
    setattr(_tapped_handle_rtp_packet, TAP_MARK, True)
    RTCRtpReceiver._handle_rtp_packet = _tapped_handle_rtp_packet  # type: ignore[method-assign]


def is_patched() -> bool:
    return bool(getattr(RTCRtpReceiver._handle_rtp_packet, TAP_MARK, False))


def set_sink(receiver: RTCRtpReceiver, sink: PacketSink | None, telephone_events_only: bool) -> None:
    """``set_packet_sink`` once the hook is installed (see there)."""
    setattr(receiver, SINK_ATTR, sink)
    setattr(receiver, EVENTS_ONLY_ATTR, telephone_events_only)
    if sink is not None and not telephone_events_only:
        _install_fast_receive(receiver)


async def _tapped_handle_rtp_packet(self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int) -> None:
    """Replacement for ``RTCRtpReceiver._handle_rtp_packet``.

    Receivers without a sink keep the stock path except for telephone-event packets, which are
    accounted for and dropped so they never reach a decoder.
    """
    sink: PacketSink | None = getattr(self, SINK_ATTR, None)
    codec, mime = _negotiated_codec(self, packet.payload_type)
    if sink is not None and mime != TELEPHONE_EVENT_MIME and getattr(self, EVENTS_ONLY_ATTR, False):
        sink = None
    if sink is None and mime != TELEPHONE_EVENT_MIME:
        assert _original_handle_rtp_packet is not None
        await _original_handle_rtp_packet(self, packet, arrival_time_ms)
        return

    _divert(self, sink, codec, mime, packet.payload, packet.timestamp, packet.sequence_number,
           packet.payload_type, packet.ssrc, bool(packet.marker), arrival_time_ms)


def _negotiated_codec(receiver: RTCRtpReceiver, payload_type: int) -> tuple[RTCRtpCodecParameters | None, str]:
    """The receiver's codec for ``payload_type`` and its lower-case MIME type ("" if none)."""
    codec: RTCRtpCodecParameters | None = getattr(receiver, RECEIVER_CODECS).get(payload_type)
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
    seen_ms: dict[int, int] | None = receiver.__dict__.get(ACTIVE_MS_ATTR)
    if seen_ms is None:
        seen_ms = receiver.__dict__[ACTIVE_MS_ATTR] = {}
    if arrival_time_ms - seen_ms.get(ssrc, -ACTIVE_SSRC_REFRESH_MS) >= ACTIVE_SSRC_REFRESH_MS:
        getattr(receiver, RECEIVER_ACTIVE_SSRC)[ssrc] = aiortc_clock.current_datetime()
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
    streams: dict[int, StreamStatistics] = getattr(receiver, RECEIVER_REMOTE_STREAMS)
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
# tries to parse every datagram as STUN (a ValueError per media packet, see sockets.py), queues
# it, the DTLS transport's task wakes up, unprotects, parses the header extensions into objects,
# routes and awaits the receiver. For a receiver with a sink, ``_FastReceive`` does the part that
# matters synchronously inside aioice's ``datagram_received``: unprotect, read the fixed header,
# the receiver's bookkeeping (``_divert``), the sink. Everything else (DTLS, RTCP, unknown SSRCs,
# receivers without a sink) still takes the stock queue, so RTCP and the handshake are untouched.


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
    return time.time_ns() // 1_000_000 + NTP_EPOCH_OFFSET_S * 1000


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
        sink: PacketSink | None = getattr(receiver, SINK_ATTR, None)
        if sink is None or getattr(receiver, EVENTS_ONLY_ATTR, False):
            self._fallback(data, component)
            return
        counters = dtls.__dict__
        counters[DTLS_RX_BYTES] += len(data)
        counters[DTLS_RX_PACKETS] += 1
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
    if getattr(connection, FAST_RECEIVE_ATTR, None) is None:
        fast: Callable[[bytes, int], None] = _FastReceive(dtls, connection.data_received)
        if fastrelay is not None:
            fast = fastrelay.Receive(fast)
        connection.data_received = fast  # type: ignore[method-assign,assignment]
        setattr(connection, FAST_RECEIVE_ATTR, fast)
