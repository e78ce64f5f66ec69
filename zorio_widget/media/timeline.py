"""``Timeline``: the state of one outbound track that the relay's two paths share, packet by packet.

An outbound track (``outbound.OutboundAudio``) owns the RTP timeline the browser hears: it assigns
every ``pts`` itself (the sender adds its random origin and renumbers sequence numbers), so the
browser sees one continuous stream whatever plays. A relayed packet takes one of two paths, and
they may alternate on any packet:

- Python: ``OutboundAudio.push`` → ``Timeline.advance`` → ``aiortc_hook.DirectSend.send``;
- native: a route's ``SrtpEgress`` in ``native/srtp_side.c`` (from a browser's or a trunk's
  leg), armed by ``native.routes.arm``.

Both decide on and advance this one object, so it holds everything either path reads or writes
of the track: what plays and what would interrupt a relay (the guards), the timeline, and the
counters a relayed packet moves. The C uses exactly the fields of ``Timeline.__slots__`` (it
exports the names as ``TIMELINE_FIELDS``; a test checks that the two lists agree, and a route
refuses an object that lacks one), read and written as attributes of a slots object, like
``DirectSend.sequence_number``. The sequence number and timestamp origin are the sender's, not the
track's (a track may be replaced): they stay on ``DirectSend``.

Timeline rule (``next_pts``): a packet that continues the previous packet's stream advances by its
own delta; any other packet (source switch, overlay, new SSRC, absurd jump) advances by one 20 ms
frame, or by the wall-clock time elapsed when the stream really paused (> ``pause_s``), so NetEq
sees a true gap rather than compressed time. The native route relays continuing packets only (the
first case, and only while nothing else is queued or playing); Python takes every other one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from .aiortc_hook import DirectSend
from .clips import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE_HZ
from .dtmf import EventPacket

FORWARD_QUEUE_PACKETS: Final = 8
"At most 160 ms of forwarded audio waits for the sender; older packets are dropped."
MAX_FORWARD_JUMP: Final = 10 * SAMPLE_RATE_HZ
"A forwarded timestamp jump beyond 10 s (or backwards beyond 1 s) is a new stream, not a gap."
MAX_FORWARD_REORDER: Final = SAMPLE_RATE_HZ


@dataclass(frozen=True, slots=True)
class Source:
    """What a leg's outbound track plays."""

    kind: str
    "``forward``, ``clip`` or ``pull`` (a playback the track pulls a payload from every 20 ms)."
    origin: str = ""
    """For ``forward``: the id of the leg whose packets are relayed (itself for echo); for ``pull``:
    a token unique to that playback (two playbacks of one sound are two sources)."""
    clip: str = ""
    "For ``clip``: the clip name (``ringback``, ``music``, ``silence``); for ``pull``: what plays."

    def __str__(self) -> str:
        if self.kind == "forward":
            return f"forward<{self.origin}>"
        return f"playback<{self.clip}>" if self.kind == "pull" else self.clip


SILENCE: Final = Source("clip", clip="silence")


def _signed32(delta: int) -> int:
    delta &= 0xFFFFFFFF
    return delta - (1 << 32) if delta & 0x80000000 else delta


def _forward_queue() -> deque[tuple[str, int, int, bytes, float]]:
    return deque(maxlen=FORWARD_QUEUE_PACKETS)


@dataclass(slots=True, eq=False)
class Timeline:
    """One outbound track's timeline and what decides whether a relayed packet may go out at once.

    A relayed packet may leave from the receiving socket's callback only while ``source`` relays
    its origin, the sender loop is parked (``waiter``) with ``direct`` bound, the track is ``live``
    and nothing else is due: ``queued``, ``overlay`` and ``events`` empty, not ``in_event``.
    """

    source: Source = SILENCE
    "What plays. A native route relays only while this is the ``Source`` it was armed for (identity)."
    waiter: asyncio.Future[None] | None = None
    "Set while the sender loop waits for a relayed packet: it is parked, a packet may go out at once."
    queued: deque[tuple[str, int, int, bytes, float]] = field(default_factory=_forward_queue)
    "Relayed packets waiting for the sender loop: ``(origin, ssrc, timestamp, payload, pushed at)``."
    overlay: deque[bytes] = field(default_factory=deque)
    "One-shot audio (in-band DTMF) that pre-empts the source."
    events: deque[tuple[EventPacket, int]] = field(default_factory=deque)
    "RFC 4733 packets still to send, each with its payload type."
    in_event: bool = False
    "Between the first and the last packet of an RFC 4733 event."
    live: bool = True
    "False once the track has stopped (its ``readyState`` is ``ended``)."
    direct: DirectSend | None = None
    "The sender loop's ``DirectSend`` while it runs the track (``aiortc_hook.DIRECT_SEND_ATTR``)."
    high_pts: int | None = None
    "Highest ``pts`` handed to the sender so far (48 kHz); ``None`` before the first packet."
    last_key: tuple[str, int] | None = None
    "``(origin leg, SSRC)`` of the last packet sent if it was relayed, else ``None``."
    last_src_ts: int = 0
    "Source RTP timestamp of the last relayed packet."
    last_pts: int = 0
    "``pts`` of the last packet sent."
    last_sent_at: float = 0.0
    "Event-loop time (``CLOCK_MONOTONIC``) the last packet left."
    gen_deadline: float | None = None
    "Next tick of the 20 ms clock that paces generated audio; ``None`` restarts it."
    packets_sent: int = 0
    "Packets handed to the sender so far."
    forwarded: int = 0
    "Of which relayed from a leg."

    def next_pts(self, key: tuple[str, int] | None, src_ts: int | None, now: float, pause_s: float) -> int:
        """The ``pts`` of a packet leaving at ``now`` (the timeline rule, module docstring);
        ``key`` and ``src_ts``: its stream and source timestamp when relayed, else ``None``."""
        if self.high_pts is None:
            return 0
        if key is not None and key == self.last_key and src_ts is not None:
            delta = _signed32(src_ts - self.last_src_ts)
            if -MAX_FORWARD_REORDER <= delta <= MAX_FORWARD_JUMP and delta != 0:
                return self.last_pts + delta
        elapsed = now - self.last_sent_at
        frames = round(elapsed / FRAME_S) if elapsed > pause_s else 1
        return self.high_pts + frames * FRAME_SAMPLES

    def advance(self, key: tuple[str, int] | None, src_ts: int | None, now: float, pause_s: float) -> int:
        """``next_pts``, and the timeline moves past that packet (which counts as sent)."""
        pts = self.next_pts(key, src_ts, now, pause_s)
        self.high_pts = pts if self.high_pts is None else max(self.high_pts, pts)
        self.last_key, self.last_pts, self.last_sent_at = key, pts, now
        if src_ts is not None:
            self.last_src_ts = src_ts
        self.packets_sent += 1
        return pts
