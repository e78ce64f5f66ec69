"""``RtpOutbound``: the one RTP stream a trunk leg sends, whose source the bridge switches.

The same contract as a browser leg's ``OutboundAudio`` (``..outbound``): ``set_source`` with a
``Source`` (``forward`` from a leg, or a ``clip``), ``push`` for relayed packets, ``play_events`` for
RFC 4733 digits, ``stop``. This class owns the stream's SSRC, sequence numbers and 8 kHz timeline, so
the far end sees one continuous stream whatever plays:

- forwarded G.711 payloads go out as they are pushed (no queue, no task: the relay's cost is one
  header pack and one ``sendto``); a packet continuing the previous one's stream advances the
  timestamp by its own delta, anything else by the wall-clock time elapsed (at least one frame),
  with the marker bit set (a new talkspurt);
- a clip (ringback, music, silence) is sent by a 20 ms clock task, converted once to G.711
  (``clips.py``; silence until then);
- RFC 4733 events pre-empt the source one 20 ms slot each, on the event's start timestamp, the
  marker on the first packet; the audio timeline keeps running underneath.

Nothing is sent while ``paused`` (the negotiated direction forbids it, e.g. the far end holds us).
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

from ..dtmf import EventPacket
from ..outbound import SILENCE, Source
from . import clips
from .g711 import FRAME_SAMPLES, SAMPLE_RATE_HZ
from .sdp import PCMU, Codec

logger = logging.getLogger(__name__)

FRAME_S: Final = FRAME_SAMPLES / SAMPLE_RATE_HZ
PAUSE_S: Final = 0.060
"A longer silence between two packets becomes a timestamp gap (the far end's jitter buffer sees it)."
MAX_FORWARD_JUMP: Final = 10 * SAMPLE_RATE_HZ
_HEADER: Final = struct.Struct("!BBHII")


class RtpOutbound:
    """Packetizes and sends what the far end of a trunk leg hears."""

    def __init__(self, owner: str, send: Callable[[bytes], None]) -> None:
        self.owner = owner
        self._send = send
        self.codec: Codec = PCMU
        "Negotiated audio codec (set by the session)."
        self.paused = True
        "True until negotiation allows sending, and while the direction forbids it."
        self.ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._source = SILENCE
        self._last_key: tuple[str, int] | None = None
        self._last_src_ts = 0
        self._last_sent_at = 0.0
        self._marker = True
        self._events: deque[tuple[EventPacket, int]] = deque()
        self._overlay: deque[bytes] = deque()
        self._event_ts = 0
        self._events_after = 0.0
        "The audio gap after an event: the next event starts no earlier (``EventPacket.gap_after_s``)."
        self._clip_index = 0
        self._pull: Callable[[], bytes | None] | None = None
        self._clock: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopped = False
        self.packets_sent = 0
        self.forwarded = 0
        self.events_sent = 0

    # -- control, the same names as OutboundAudio -----------------------------------------------

    @property
    def source(self) -> Source:
        return self._source

    @property
    def audio_codec(self) -> str:
        """The law of the payloads it sends (``pcmu``/``pcma``): what relayed payloads must be."""
        return self.codec.name

    def set_source(self, source: Source) -> None:
        if source == self._source:
            return
        logger.debug("[leg %s] rtp outbound %s -> %s", self.owner, self._source, source)
        self._source = source
        if source.kind != "pull":
            self._pull = None
        self._last_key = None
        self._marker = True
        self._clip_index = 0
        if source.kind == "clip":
            clips.request(source.clip, self.codec.name)
        self._kick()

    def play_pull(self, source: Source, pull: Callable[[], bytes | None]) -> None:
        """Play what ``pull()`` returns (20 ms payloads of the negotiated law; ``None``: silence)
        on the 20 ms clock: a playback or prompt (``source``, kind ``pull``, names it)."""
        if source.kind != "pull":
            raise ValueError(f"play_pull needs a pull source, not {source}")
        self._pull = pull
        self.set_source(source)
        self._kick()

    def play_forwarded(self, origin: str) -> None:
        self.set_source(Source("forward", origin=origin))

    def play_clip(self, name: str) -> None:
        self.set_source(Source("clip", clip=name))

    def play_once(self, payloads: Iterable[bytes]) -> None:
        """G.711 payloads played once before the source resumes (in-band tones)."""
        self._overlay.extend(payloads)
        self._kick()

    def play_events(self, packets: Iterable[EventPacket], payload_type: int) -> None:
        self._events.extend((p, payload_type) for p in packets)
        self._kick()

    @property
    def events_pending(self) -> int:
        return len(self._events)

    def push(self, origin: str, ssrc: int, timestamp: int, payload: bytes) -> bool:
        """Relay one payload of ``origin`` now; ``False`` (dropped) unless it is the source and
        nothing pre-empts it."""
        src = self._source
        if src.kind != "forward" or src.origin != origin or self._events or self._overlay or self._stopped:
            return False
        now = asyncio.get_running_loop().time()
        key = (origin, ssrc)
        delta = (timestamp - self._last_src_ts) & 0xFFFFFFFF
        if key == self._last_key and 0 < delta <= MAX_FORWARD_JUMP:
            self._ts = (self._ts + delta) & 0xFFFFFFFF
        else:
            self._advance(now)
            self._marker = True
        self._last_key, self._last_src_ts = key, timestamp
        self.forwarded += 1
        self._emit(self.codec.payload_type, payload, self._ts, now)
        return True

    def stop(self) -> None:
        self._stopped = True
        self._events.clear()
        self._overlay.clear()
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None

    # -- sending ---------------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        elapsed = now - self._last_sent_at
        frames = max(1, round(elapsed / FRAME_S)) if self.packets_sent and elapsed > PAUSE_S else 1
        self._ts = (self._ts + frames * FRAME_SAMPLES) & 0xFFFFFFFF

    def _emit(self, payload_type: int, payload: bytes, timestamp: int, now: float, marker: bool | None = None) -> None:
        mark = self._marker if marker is None else marker
        self._marker = False
        self._seq = (self._seq + 1) & 0xFFFF
        self._last_sent_at = now
        self.packets_sent += 1
        if self.paused:
            return
        header = _HEADER.pack(0x80, (0x80 if mark else 0) | payload_type, self._seq, timestamp, self.ssrc)
        self._send(header + payload)

    def _kick(self) -> None:
        if self._stopped:
            return
        if self._clock is None or self._clock.done():
            if self._source.kind in ("clip", "pull") or self._events or self._overlay:
                self._clock = asyncio.ensure_future(self._run_clock())
        self._wake.set()

    def _needs_clock(self) -> bool:
        return self._source.kind in ("clip", "pull") or bool(self._events) or bool(self._overlay)

    async def _run_clock(self) -> None:
        """20 ms ticks while a clip, an overlay or events play; ends when only forwarding is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while not self._stopped and self._needs_clock():
            now = loop.time()
            if now - deadline > 0.1:
                deadline = now  # we were starved: skip ahead, do not burst
            self._tick(now)
            deadline += FRAME_S
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def _tick(self, now: float) -> None:
        if self._events and now >= self._events_after:
            packet, payload_type = self._events.popleft()
            if packet.start:
                self._advance(now)
                self._event_ts = self._ts
            elif not packet.repeat:
                self._ts = (self._ts + FRAME_SAMPLES) & 0xFFFFFFFF
            self.events_sent += 1
            self._emit(payload_type, packet.payload, self._event_ts, now, marker=packet.start)
            while self._events and self._events[0][0].repeat:  # end retransmissions go back to back
                repeat, pt = self._events.popleft()
                self.events_sent += 1
                self._emit(pt, repeat.payload, self._event_ts, now, marker=False)
            if packet.gap_after_s or (self._events and self._events[0][0].start):
                self._events_after = now + packet.gap_after_s
            self._last_key = None
            self._marker = True
            return
        if self._overlay:
            self._advance(now)
            self._emit(self.codec.payload_type, self._overlay.popleft(), self._ts, now)
            self._last_key = None
            return
        if self._source.kind == "pull":
            pulled = self._pull() if self._pull is not None else None
            self._advance(now)
            self._emit(self.codec.payload_type, pulled if pulled is not None else clips.silence(self.codec.name),
                       self._ts, now)
            return
        if self._source.kind == "clip":
            packets = clips.cached(self._source.clip, self.codec.name)
            payload = packets[self._clip_index % len(packets)] if packets else clips.silence(self.codec.name)
            self._clip_index += 1
            self._advance(now)
            self._emit(self.codec.payload_type, payload, self._ts, now)
