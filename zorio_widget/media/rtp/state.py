"""What a trunk leg's Python path and the native relay share, packet by packet: two slots objects.

A relayed packet of a trunk call takes one of two paths, and they may alternate on any packet:

- Python: ``RtpSession._received`` → the bridge → the listener's ``push``; and the other way, the
  bridge → ``RtpOutbound.push`` → ``RtpSession._send``;
- native: a ``fastrelay.Route`` whose ingress is an ``RtpIngress`` (trunk → browser) or whose
  egress is an ``RtpEgress`` (browser → trunk), in ``native/rtp_side.c``, armed by
  ``native.routes.arm``.

Both read and write these objects, so each holds everything either path uses of its side:
``SessionState`` is the session's receive side and where the far end is (latching), ``StreamState``
the stream we send (``RtpOutbound``'s SSRC, sequence numbers and 8 kHz timeline, and what would
interrupt a relay). The C uses exactly the fields of each ``__slots__`` (it exports the names as
``SESSION_FIELDS`` and ``STREAM_FIELDS``; a test checks that the lists agree, and a route refuses an
object that lacks one). Like ``media.timeline.Timeline`` for a browser leg's track.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..dtmf import EventPacket
from ..timeline import SILENCE, Source
from .sdp import PCMU, Codec


@dataclass(slots=True, eq=False)
class SessionState:
    """An ``RtpSession``'s far end and receive side.

    A native route takes a packet only from ``remote_address`` once ``latched``, only while the
    session is ``open`` and ``connected``, and only while ``codec``, ``on_packet`` and ``packet_tap``
    are the objects it was armed with; anything else (latching, a new codec, in-band detection...)
    is the Python path's.
    """

    open: bool = False
    "Bound and not closing: packets are taken and sent only meanwhile."
    state: str = "new"
    "The session's state (``LEG_STATES``); a route relays only while ``connected``."
    codec: Codec | None = None
    "The negotiated audio codec (``None`` before negotiation)."
    remote_address: tuple[str, int] | None = None
    "Where we send: the SDP's address, then the latched source (a new tuple each time it changes)."
    latched: bool = False
    "Whether ``remote_address`` is where the far end's packets really came from."
    last_rx: float = 0.0
    "``time.monotonic()`` of the last packet taken (the media timeout watches it)."
    packets_received: int = 0
    on_packet: Callable[[Any, Any], None] | None = None
    "Called with ``(session, ReceivedPacket)`` for each audio packet (the leg wires it)."
    packet_tap: Callable[[bytes, int], object] | None = None
    "The bridge's taps on the leg (recording...): called by the native route with each payload."


def _random_bits(bits: int) -> Callable[[], int]:
    return lambda: random.getrandbits(bits)


@dataclass(slots=True, eq=False)
class StreamState:
    """The RTP stream an ``RtpOutbound`` sends to the far end.

    A relayed payload may go out from the receiving socket's callback only while ``source``
    relays its origin, nothing pre-empts it (``events``, ``overlay`` empty), the stream is neither
    ``stopped`` nor ``paused``, and it continues the last relayed stream (``last_key``).
    """

    source: Source = SILENCE
    "What plays. A native route relays only while this is the ``Source`` it was armed for (identity)."
    events: deque[tuple[EventPacket, int]] = field(default_factory=deque)
    "RFC 4733 packets still to send, each with its payload type."
    overlay: deque[bytes] = field(default_factory=deque)
    "One-shot G.711 payloads (in-band tones) that pre-empt the source."
    stopped: bool = False
    paused: bool = True
    "True until negotiation allows sending, and while the direction forbids it."
    codec: Codec = PCMU
    "The negotiated audio codec (set by the session)."
    ssrc: int = field(default_factory=_random_bits(32))
    seq: int = field(default_factory=_random_bits(16))
    "Sequence number of the last packet sent."
    ts: int = field(default_factory=_random_bits(32))
    "RTP timestamp (8 kHz) of the last audio packet sent."
    last_key: tuple[str, int] | None = None
    "``(origin leg, SSRC)`` of the last packet sent if it was relayed, else ``None``."
    last_src_ts: int = 0
    "Source RTP timestamp of the last relayed packet."
    last_sent_at: float = 0.0
    "Event-loop time (``CLOCK_MONOTONIC``) the last packet left."
    marker: bool = True
    "Set on the next audio packet (a new talkspurt)."
    packets_sent: int = 0
    forwarded: int = 0
    "Of which relayed from a leg."
