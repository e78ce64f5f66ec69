"""Every private name of aiortc, aioice, pylibsrtp and asyncio the hook relies on, in one place.

Why one module: the receive tap (``receive.py``), the socket path (``sockets.py``) and the sender
(``send.py``) all use these names, and the tripwire (``tripwire.py``) checks each of them against
the installed libraries. Listed here, below all of them, each part imports the names without
importing another part. The attributes we add to aiortc objects (``_zorio_*``) and the methods a
track may offer our sender loop are listed here too, so one page shows everything the hook relies
on or adds. Why these internals at all: docs/MEDIA-NOTES.md ("The encoded relay").

Names that Python does not mangle (``_rx_srtp``, ``_nominated``...) are used as plain attributes in
the code, for readability; the tables below say where each is assigned, for the tripwire.
"""

from __future__ import annotations

from typing import Any, Final

from aiortc.rtcdtlstransport import State as DtlsState

AIORTC_VERSION: Final = "1.16.0"
"""The only aiortc version whose internals the hook was written against."""
AIOICE_VERSION: Final = "0.13.0"
"""The only aioice version whose internals the relay's receive and send paths use."""

# -- what the hook adds to aiortc's codec table -----------------------------------------------------

TELEPHONE_EVENT_MIME: Final = "audio/telephone-event"
TELEPHONE_EVENT_PTS: Final = {48000: 110, 8000: 126}
"""Payload types offered by the server. They must not collide with aiortc's video table (97-102)
or Opus (96); 110/126 are what Chrome itself uses for 48000/8000."""
OPUS_MIME: Final = "audio/opus"

# -- RTCRtpReceiver (name-mangled), read and written by the receive tap ----------------------------

RECEIVER_ACTIVE_SSRC: Final = "_RTCRtpReceiver__active_ssrc"
"{ssrc: datetime} behind ``getSynchronizationSources()``."
RECEIVER_CODECS: Final = "_RTCRtpReceiver__codecs"
"{payload type: RTCRtpCodecParameters} negotiated for the receiver."
RECEIVER_REMOTE_STREAMS: Final = "_RTCRtpReceiver__remote_streams"
"{ssrc: StreamStatistics} behind RTCP receiver reports and ``getStats()``."
RECEIVER_ATTRS: Final = (RECEIVER_ACTIVE_SSRC, RECEIVER_CODECS, RECEIVER_REMOTE_STREAMS)
RECEIVER_INIT_ATTRS: Final = (*RECEIVER_ATTRS, "_enabled")
"Assigned by ``RTCRtpReceiver.__init__``."

# -- RTCRtpSender (name-mangled), used by the copied sender loop and DirectSend --------------------

SENDER_PREFIX: Final = "_RTCRtpSender__"
SENDER_ATTRS: Final = tuple(
    SENDER_PREFIX + name
    for name in (
        "track", "encoder", "mid", "rtp_started", "rtp_exited", "rtp_history",
        "rtp_header_extensions_map", "ntp_timestamp", "rtp_timestamp", "octet_count",
        "packet_count", "log_debug", "log_warning",
    )
)
"Assigned by ``RTCRtpSender.__init__`` or ``replaceTrack`` (or class attributes)."
SENDER_NTP_TIMESTAMP: Final = SENDER_PREFIX + "ntp_timestamp"
SENDER_RTP_TIMESTAMP: Final = SENDER_PREFIX + "rtp_timestamp"
SENDER_OCTET_COUNT: Final = SENDER_PREFIX + "octet_count"
SENDER_PACKET_COUNT: Final = SENDER_PREFIX + "packet_count"
"The four RTCP sender-report values, moved by every packet sent (loop, DirectSend, native route)."

# -- RTCDtlsTransport ----------------------------------------------------------------------------------

DTLS_RX_BYTES: Final = "_RTCDtlsTransport__rx_bytes"
DTLS_RX_PACKETS: Final = "_RTCDtlsTransport__rx_packets"
DTLS_TX_BYTES: Final = "_RTCDtlsTransport__tx_bytes"
DTLS_TX_PACKETS: Final = "_RTCDtlsTransport__tx_packets"
"The counters of its ``getStats()`` transport entry (name-mangled)."
DTLS_INIT_ATTRS: Final = (
    "_rx_srtp", "_tx_srtp", "_rtp_router", "_state", DTLS_RX_BYTES, DTLS_RX_PACKETS, DTLS_TX_BYTES, DTLS_TX_PACKETS,
)
"Assigned by ``RTCDtlsTransport.__init__``: the SRTP sessions, the SSRC router, the state."
DTLS_CONNECTED: Final = DtlsState.CONNECTED

# -- aioice, pylibsrtp ---------------------------------------------------------------------------------

ICE_CONNECTION_INIT_ATTRS: Final = ("_nominated",)
"Assigned by aioice's ``Connection.__init__``: {component: nominated CandidatePair}."
SRTP_SESSION_INIT_ATTRS: Final = ("_srtp",)
"""Assigned by ``pylibsrtp.Session.__init__``: its libsrtp ``srtp_t *``, handed to the native
route with ``pylibsrtp._binding``'s ``srtp_protect``/``srtp_unprotect``."""

# -- asyncio's selector event loop (private classes: the native reader stands in for one) -----------

ASYNCIO_DATAGRAM_TRANSPORT: Final = "_SelectorDatagramTransport"
ASYNCIO_SELECTOR_TRANSPORT: Final = "_SelectorTransport"
ASYNCIO_SELECTOR_LOOP: Final = "BaseSelectorEventLoop"


def asyncio_private(name: str) -> Any:
    """A class of ``asyncio.selector_events`` (typed as ``Any``: the stubs omit the private ones)."""
    from asyncio import selector_events

    return getattr(selector_events, name)


# -- what the hook adds to aiortc and aioice objects ------------------------------------------------

SINK_ATTR: Final = "_zorio_packet_sink"
"On a receiver: its ``PacketSink`` (``set_packet_sink``)."
EVENTS_ONLY_ATTR: Final = "_zorio_events_only"
"On a receiver: only RFC 4733 packets go to the sink."
ACTIVE_MS_ATTR: Final = "_zorio_active_ssrc_ms"
"On a receiver: {ssrc: arrival ms of the last active-SSRC refresh}."
CODECS_ATTR: Final = "_zorio_send_codecs"
"On a sender: the codecs it was started with (``sender_codecs``)."
FAST_RECEIVE_ATTR: Final = "_zorio_fast_receive"
"On an aioice connection: the synchronous receive path installed as its ``data_received``."
READER_ATTR: Final = "_zorio_native_reader"
"On a ``StunProtocol``: the native reader that reads its socket."
TAP_MARK: Final = "_zorio_tap"
"On each replacement method: the hook is installed."

# -- what a track may offer the copied sender loop -------------------------------------------------

OVERRIDE_METHOD: Final = "take_rtp_override"
"""A track may define ``take_rtp_override() -> RtpOverride | None``: called by the sender right
after each packet the track returned, it relabels that packet (see ``send.RtpOverride``)."""
RAW_RECV_METHOD: Final = "recv_opus_payload"
"""A track may define ``async recv_opus_payload() -> tuple[bytes, int]``: the Opus payload and its
RTP timestamp (48 kHz, before the sender's random origin), exactly what ``recv()`` would have
returned as an ``av.Packet`` and ``OpusEncoder.pack`` turned into ``([payload], timestamp)``. The
copied sender loop then skips the ``av.Packet`` round trip (only when sending Opus)."""
DIRECT_SEND_ATTR: Final = "direct_send"
"""A track with this attribute (initially ``None``) is given a ``send.DirectSend`` while the copied
sender loop runs it, and ``None`` again afterwards."""

NTP_EPOCH_OFFSET_S: Final = 2208988800
"Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch)."


class AiortcInternalsChanged(RuntimeError):
    """aiortc no longer looks like the version the encoded relay was written for."""
