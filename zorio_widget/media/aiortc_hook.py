"""The one module that touches aiortc internals (pinned: aiortc==1.16.0).

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

Everything private we use is listed in ``verify_aiortc_internals()``; tests call it so an aiortc
upgrade fails loudly instead of silently breaking RTCP or audio.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import aiortc
from aiortc import RTCRtpReceiver
from aiortc import clock as aiortc_clock
from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

logger = logging.getLogger(__name__)

AIORTC_VERSION: Final = "1.16.0"
"""The only aiortc version whose internals this module was written against."""

TELEPHONE_EVENT_MIME: Final = "audio/telephone-event"
# Payload types offered by the server. They must not collide with aiortc's video table
# (97-102) or Opus (96); 110/126 are what Chrome itself uses for 48000/8000.
TELEPHONE_EVENT_PTS: Final = {48000: 110, 8000: 126}

# Name-mangled private attributes of RTCRtpReceiver that the tap reads and writes.
_ACTIVE_SSRC: Final = "_RTCRtpReceiver__active_ssrc"
_CODECS: Final = "_RTCRtpReceiver__codecs"
_REMOTE_STREAMS: Final = "_RTCRtpReceiver__remote_streams"
_PRIVATE_ATTRS: Final = (_ACTIVE_SSRC, _CODECS, _REMOTE_STREAMS)

_SINK_ATTR: Final = "_zorio_packet_sink"
_TAP_MARK: Final = "_zorio_tap"


class AiortcInternalsChanged(RuntimeError):
    """aiortc no longer looks like the version the encoded relay was written for."""


@dataclass(frozen=True, slots=True)
class ReceivedPacket:
    """One RTP packet diverted from a receiver before its jitter buffer."""

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

_original_handle_rtp_packet: Callable[..., Any] | None = None


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

    if problems:
        raise AiortcInternalsChanged(
            "zorio_widget.media.aiortc_hook cannot be used with this aiortc: "
            + "; ".join(problems)
            + ". Re-measure the encoded relay (MEDIA-NOTES.md) before changing the pin."
        )


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
    """Verify aiortc, register telephone-event and wrap the receive path (idempotent)."""
    global _original_handle_rtp_packet
    current = RTCRtpReceiver._handle_rtp_packet
    if getattr(current, _TAP_MARK, False):
        return
    verify_aiortc_internals()
    register_telephone_event()
    _original_handle_rtp_packet = current
    setattr(_tapped_handle_rtp_packet, _TAP_MARK, True)
    RTCRtpReceiver._handle_rtp_packet = _tapped_handle_rtp_packet  # type: ignore[method-assign]
    logger.info("aiortc %s receive tap installed", aiortc.__version__)


def is_installed() -> bool:
    return bool(getattr(RTCRtpReceiver._handle_rtp_packet, _TAP_MARK, False))


def set_packet_sink(receiver: RTCRtpReceiver, sink: PacketSink | None) -> None:
    """Divert every packet of ``receiver`` to ``sink`` (``None`` restores the stock path).

    Raises ``AiortcInternalsChanged`` if this receiver lacks the private attributes we update.
    """
    if sink is not None:
        if not is_installed():
            install()
        missing = [a for a in _PRIVATE_ATTRS if not hasattr(receiver, a)]
        if missing:
            raise AiortcInternalsChanged(f"RTCRtpReceiver instance lacks {missing}")
    setattr(receiver, _SINK_ATTR, sink)


async def _tapped_handle_rtp_packet(
    self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int
) -> None:
    """Replacement for ``RTCRtpReceiver._handle_rtp_packet``.

    Receivers without a sink keep the stock path except for telephone-event packets, which are
    accounted for and dropped so they never reach a decoder.
    """
    sink: PacketSink | None = getattr(self, _SINK_ATTR, None)
    codecs: dict[int, RTCRtpCodecParameters] = getattr(self, _CODECS)
    codec = codecs.get(packet.payload_type)
    mime = codec.mimeType.lower() if codec is not None else ""
    if sink is None and mime != TELEPHONE_EVENT_MIME:
        assert _original_handle_rtp_packet is not None
        await _original_handle_rtp_packet(self, packet, arrival_time_ms)
        return

    # The same bookkeeping, in the same order, as the stock method before its jitter buffer.
    if not self._enabled:
        return
    getattr(self, _ACTIVE_SSRC)[packet.ssrc] = aiortc_clock.current_datetime()
    if codec is None:
        return
    streams: dict[int, StreamStatistics] = getattr(self, _REMOTE_STREAMS)
    stats = streams.get(packet.ssrc)
    if stats is None:
        stats = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
    stats.add(packet)

    if sink is not None:
        received = ReceivedPacket(
            payload=packet.payload,
            timestamp=packet.timestamp,
            sequence_number=packet.sequence_number,
            payload_type=packet.payload_type,
            ssrc=packet.ssrc,
            marker=bool(packet.marker),
            mime_type=mime,
            clock_rate=codec.clockRate,
            arrival_time_ms=arrival_time_ms,
        )
        try:
            sink(received)
        except Exception:
            # An exception here would end aiortc's DTLS receive loop and with it the call.
            logger.exception("packet sink failed for ssrc %d", packet.ssrc)
