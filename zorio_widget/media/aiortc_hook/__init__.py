"""The one package that touches aiortc, aioice and pylibsrtp internals (pinned: aiortc==1.16.0).

Why it exists (docs/DESIGN.md §4b, docs/MEDIA-NOTES.md): browser-to-browser audio is relayed as encoded
Opus packets, which aiortc has no public way to take out of a receiver or put into a sender without
its encoder. ``install()`` verifies the installed libraries, registers ``audio/telephone-event``
(48000 and 8000 Hz, so browsers negotiate RFC 4733 DTMF) and puts the replacements in place.

- ``inventory``: every private name relied on, and every attribute added (read it first);
- ``tripwire``: ``verify_aiortc_internals`` — an upgrade fails loudly instead of silently
  breaking RTCP or audio;
- ``receive``: the receive tap (``set_packet_sink``, ``ReceivedPacket``) and the synchronous
  receive path from the socket callback;
- ``sockets``: the aioice/asyncio side of the socket path, and aiortc's half of a native route;
- ``send``: the copied sender loop (``RtpOverride`` for RFC 4733 events) and ``DirectSend``.

The parts import ``inventory`` and the extension loader (``media.native``), never each other
(but ``sockets``, the ``DirectSend`` type); the tripwire imports the parts it checks; this module
imports them all and holds the public API (``__all__``).
"""

from __future__ import annotations

import logging

import aiortc
from aiortc import RTCRtpReceiver
from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from . import receive, send, sockets
from .inventory import (
    AIOICE_VERSION,
    AIORTC_VERSION,
    DIRECT_SEND_ATTR,
    OVERRIDE_METHOD,
    RAW_RECV_METHOD,
    RECEIVER_ATTRS,
    TELEPHONE_EVENT_MIME,
    TELEPHONE_EVENT_PTS,
    AiortcInternalsChanged,
)
from .receive import ACTIVE_SSRC_REFRESH_MS, PacketSink, ReceivedPacket
from .send import DirectSend, RtpOverride, sender_codecs
from .sockets import (
    UDP_RECV_BUFFER,
    install_native_readers,
    native_egress_parts,
    native_ingress_parts,
    native_receive,
    read_natively,
)
from .tripwire import verify_aiortc_internals

__all__ = [
    "ACTIVE_SSRC_REFRESH_MS",
    "AIOICE_VERSION",
    "AIORTC_VERSION",
    "DIRECT_SEND_ATTR",
    "OVERRIDE_METHOD",
    "RAW_RECV_METHOD",
    "TELEPHONE_EVENT_MIME",
    "TELEPHONE_EVENT_PTS",
    "UDP_RECV_BUFFER",
    "AiortcInternalsChanged",
    "DirectSend",
    "PacketSink",
    "ReceivedPacket",
    "RtpOverride",
    "install",
    "install_native_readers",
    "is_installed",
    "native_egress_parts",
    "native_ingress_parts",
    "native_receive",
    "read_natively",
    "register_telephone_event",
    "sender_codecs",
    "set_packet_sink",
    "verify_aiortc_internals",
]

logger = logging.getLogger(__name__)


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
    if receive.is_patched():
        return
    verify_aiortc_internals()
    register_telephone_event()
    send.patch()
    receive.patch()
    sockets.patch()
    logger.info("aiortc %s receive tap and event sender installed", aiortc.__version__)


def is_installed() -> bool:
    return receive.is_patched()


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
        missing = [a for a in RECEIVER_ATTRS if not hasattr(receiver, a)]
        if missing:
            raise AiortcInternalsChanged(f"RTCRtpReceiver instance lacks {missing}")
    receive.set_sink(receiver, sink, telephone_events_only)
