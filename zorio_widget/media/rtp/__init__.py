"""RTP media for SIP trunk legs: G.711 and RFC 4733 over one UDP socket per leg (docs/DESIGN.md §4b).

- ``RtpLeg`` (``leg.py``): that session as a leg's media for the call layer and the bridge.
- ``RtpSession`` (``session.py``): the trunk leg's media with the browser leg's interface —
  ``on_packet``, ``outbound`` (``RtpOutbound``, ``sender.py``), ``on_dtmf``, ``on_failed``,
  ``close()`` — symmetric RTP with latching, SDP offer/answer.
- ``sdp.py``: the offer/answer builder and parser (``c=``, ``m=audio port RTP/AVP 0 8 101``,
  ``a=rtpmap``, ``a=ptime``, directions).
- ``g711.py``: PCMU/PCMA tables (from FFmpeg, applied with numpy); ``clips.py``: the process's
  clips converted to G.711 once.
- ``PortRange`` (``ports.py``): ``RTP_PORT_MIN``..``RTP_PORT_MAX``.
- ``transcode.py``: the Opus↔G.711 adapter, only where two legs' codecs differ (off the loop).
- ``state.py``: what the Python path and the native relay share of a trunk leg (``SessionState``,
  ``StreamState``); ``relay.py``: a trunk leg's half of a native route (``native.routes`` arms it).

The bridge relays G.711 leg↔leg as it relays Opus: ``on_packet`` of one leg, ``outbound.push`` of
the other, nothing decoded; once plain, in C (``native/rtp_side.c``) in both directions.
"""

from .leg import RtpLeg
from .ports import PortRange, PortsExhausted
from .sdp import PCMA, PCMU, TELEPHONE_EVENT, AudioDescription, Codec
from .sender import RtpOutbound
from .session import RtpSession
from .transcode import G711ToOpus, OpusToG711, TranscodingAdapter

__all__ = [
    "PCMA",
    "PCMU",
    "TELEPHONE_EVENT",
    "AudioDescription",
    "Codec",
    "G711ToOpus",
    "OpusToG711",
    "PortRange",
    "PortsExhausted",
    "RtpLeg",
    "RtpOutbound",
    "RtpSession",
    "TranscodingAdapter",
]
