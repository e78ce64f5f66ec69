"""The send path: a copy of aiortc's sender loop with one extension point, and ``DirectSend``.

Sending RFC 4733 events: aiortc's ``RTCRtpSender._run_rtp`` sends only ``parameters.codecs[0]``
and keeps the sequence number in a local variable, so nothing can be injected from outside. It is
replaced by a faithful copy (``_run_rtp`` below) whose one extension point lets the track relabel
the packet it just returned (``RtpOverride``: payload type and marker), so events go out on the
audio's SSRC and sequence counter, at the timestamp the track gave them. ``send`` is wrapped to
remember the negotiated codecs (``sender_codecs``). The copy also skips per-packet work that cannot
change the bytes sent (CPU per relayed packet, bench/RESULTS.md): Opus and G.711 payloads come straight from
tracks offering ``RAW_RECV_METHOD`` (no ``av.Packet``/``OpusEncoder.pack``), one cheap NTP clock
read per packet, ``abs-send-time`` only when negotiated, and the RTP header written with a
precomputed extension block (``_serialize``, checked against ``RtpPacket.serialize`` by the tripwire).

The relay's hot path: the outbound track sends a relayed payload at once through its sender's
``DirectSend``, which shares the copied loop's SSRC, sequence counter and timestamp origin. So one
relayed packet is one callback: no queue, no task wake-up, no ``RtpPacket`` objects.
"""

from __future__ import annotations

import asyncio
import struct
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from aioice.ice import StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc import rtcrtpsender as aiortc_rtcrtpsender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtcrtpsender import RTCEncodedFrame
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, HeaderExtensionsMap, RtpPacket
from aiortc.utils import uint16_add, uint32_add

from .inventory import (
    CODECS_ATTR,
    DIRECT_SEND_ATTR,
    DTLS_CONNECTED,
    DTLS_TX_BYTES,
    DTLS_TX_PACKETS,
    NTP_EPOCH_OFFSET_S,
    OPUS_MIME,
    OVERRIDE_METHOD,
    RAW_RECV_METHOD,
    SENDER_NTP_TIMESTAMP,
    SENDER_OCTET_COUNT,
    SENDER_PACKET_COUNT,
    SENDER_PREFIX,
    SENDER_RTP_TIMESTAMP,
    TAP_MARK,
)

_S: Final = SENDER_PREFIX
_RTP_HEADER: Final = struct.Struct("!BBHLL")
RAW_CLOCK_DIVISORS: Final = {OPUS_MIME: 1, "audio/pcmu": 6, "audio/pcma": 6}
"""Codecs whose payloads a track may hand over raw (``RAW_RECV_METHOD``: no ``av.Packet``, no
``pack``), with what divides the track's 48 kHz pts into the codec's RTP clock: Opus, and G.711 for
a browser leg facing a trunk (its packets are relayed as they are, like Opus ones)."""

_original_send: Callable[..., Any] | None = None
"aiortc's own ``RTCRtpSender.send``, once ``patch`` replaced it."
_original_run_rtp: Callable[..., Any] | None = None
"aiortc's own ``RTCRtpSender._run_rtp``, once ``patch`` replaced it."


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



def patch() -> None:
    """Replace ``RTCRtpSender.send`` and ``_run_rtp`` (``install`` calls it once)."""
    global _original_send, _original_run_rtp
    _original_send, _original_run_rtp = RTCRtpSender.send, RTCRtpSender._run_rtp
    for replacement in (_send, _run_rtp):
        setattr(replacement, TAP_MARK, True)
    RTCRtpSender.send = _send  # type: ignore[method-assign]
    RTCRtpSender._run_rtp = _run_rtp  # type: ignore[method-assign]


def sender_codecs(sender: RTCRtpSender) -> list[RTCRtpCodecParameters] | None:
    """The codecs ``sender`` was started with (first = the one audio is sent with), or ``None``
    before aiortc started it (it does once DTLS is connected)."""
    codecs: list[RTCRtpCodecParameters] | None = getattr(sender, CODECS_ATTR, None)
    return codecs


def _ntp_now() -> int:
    """``aiortc.clock.current_ntp_time()`` (the same microsecond-resolution value) without
    building two ``datetime`` objects per packet."""
    us = time.time_ns() // 1000
    seconds, micro = divmod(us, 1_000_000)
    return ((seconds + NTP_EPOCH_OFFSET_S) << 32) | ((micro << 32) // 1_000_000)


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
    if getattr(self, CODECS_ATTR, None) is None:
        setattr(self, CODECS_ATTR, list(parameters.codecs))
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
        "_dtls", "_connection", "_pair", "_remote", "_clock_divisor",
    )

    def __init__(
        self, sender: RTCRtpSender, payload_type: int, block: bytes, sequence_number: int, timestamp_origin: int,
        clock_divisor: int = 1,
    ) -> None:
        self.sequence_number = sequence_number
        "Next RTP sequence number, shared with the sender loop."
        self.timestamp_origin = timestamp_origin
        self._clock_divisor = clock_divisor
        "48 kHz pts -> the codec's RTP clock (6 for G.711)."
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
        if self._connection is None or dtls._state is not DTLS_CONNECTED or dtls._tx_srtp is None:
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
        timestamp = (self.timestamp_origin + pts // self._clock_divisor) & 0xFFFFFFFF
        sequence_number = self.sequence_number
        packet = _serialize(self._payload_type, 1, sequence_number, timestamp, sender._ssrc, self._block, payload)
        self.sequence_number = (sequence_number + 1) & 0xFFFF
        g = self._state
        g[SENDER_NTP_TIMESTAMP] = _ntp_now()
        g[SENDER_RTP_TIMESTAMP] = timestamp
        g[SENDER_OCTET_COUNT] += len(payload)
        g[SENDER_PACKET_COUNT] += 1
        dtls = self._dtls
        data = dtls._tx_srtp.protect(packet)
        self._pair.protocol.transport.sendto(data, self._remote)
        counters = dtls.__dict__
        counters[DTLS_TX_BYTES] += len(data)
        counters[DTLS_TX_PACKETS] += 1


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
    clock_divisor = RAW_CLOCK_DIVISORS.get((codec.mimeType or "").lower())
    raw_ok = clock_divisor is not None
    payload_type = cast(int, codec.payloadType)
    mid = g[_S + "mid"]
    history = g[_S + "rtp_history"]
    block = _extension_block(extensions_map, mid)
    direct = DirectSend(self, payload_type, block, sequence_number, timestamp_origin, clock_divisor or 1)
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
                raw_timestamp //= clock_divisor or 1
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
                    g[SENDER_NTP_TIMESTAMP] = now_ntp
                    g[SENDER_RTP_TIMESTAMP] = packet.timestamp
                g[SENDER_OCTET_COUNT] += len(payload)
                g[SENDER_PACKET_COUNT] += 1
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
