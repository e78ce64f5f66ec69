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

The stream's state lives in one ``state.StreamState`` (``stream``), shared with the native relay
(``native/rtp_side.c`` ``RtpEgress``): once a relayed payload went straight out, the bridge arms a
route (``native.routes.arm``) that renumbers and sends the following ones in C, on that same object,
while the stream relays plainly; any change here (a source switch, events, an overlay, a pause)
sends packets back to ``push``.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Iterable
from typing import Any, Final

from ..dtmf import EventPacket
from ..timeline import Source
from . import clips
from .g711 import FRAME_SAMPLES, SAMPLE_RATE_HZ
from .sdp import Codec
from .state import StreamState

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
        self.stream = StreamState()
        "What plays and the stream's SSRC, numbering and timeline: shared with the native route (``state.py``)."
        self._event_ts = 0
        self._events_after = 0.0
        "The audio gap after an event: the next event starts no earlier (``EventPacket.gap_after_s``)."
        self._clip_index = 0
        self._pull: Callable[[], bytes | None] | None = None
        self._clock: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.events_sent = 0
        self.native_routes: list[Any] = []
        "Native relay routes sending on this stream (``native.routes.arm``); released when it switches or stops."

    # -- the stream's state, by the names callers know ------------------------------------------

    @property
    def codec(self) -> Codec:
        """Negotiated audio codec (set by the session)."""
        return self.stream.codec

    @codec.setter
    def codec(self, codec: Codec) -> None:
        self.stream.codec = codec

    @property
    def paused(self) -> bool:
        """True until negotiation allows sending, and while the direction forbids it."""
        return self.stream.paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        self.stream.paused = paused

    @property
    def ssrc(self) -> int:
        return self.stream.ssrc

    @property
    def packets_sent(self) -> int:
        return self.stream.packets_sent

    @property
    def forwarded(self) -> int:
        return self.stream.forwarded

    # -- control, the same names as OutboundAudio -----------------------------------------------

    @property
    def source(self) -> Source:
        return self.stream.source

    @property
    def audio_codec(self) -> str:
        """The law of the payloads it sends (``pcmu``/``pcma``): what relayed payloads must be."""
        return self.stream.codec.name

    def set_source(self, source: Source) -> None:
        st = self.stream
        if source == st.source:
            return
        logger.debug("[leg %s] rtp outbound %s -> %s", self.owner, st.source, source)
        st.source = source
        if source.kind != "pull":
            self._pull = None
        st.last_key = None
        st.marker = True
        self._clip_index = 0
        self._release_routes()
        if source.kind == "clip":
            clips.request(source.clip, st.codec.name)
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
        self.stream.overlay.extend(payloads)
        self._kick()

    def play_events(self, packets: Iterable[EventPacket], payload_type: int) -> None:
        self.stream.events.extend((p, payload_type) for p in packets)
        self._kick()

    @property
    def events_pending(self) -> int:
        return len(self.stream.events)

    def push(self, origin: str, ssrc: int, timestamp: int, payload: bytes) -> bool:
        """Relay one payload of ``origin`` now; ``False`` (dropped) unless it is the source and
        nothing pre-empts it. The native route does the same for a continuing stream
        (``rtp_out_guards`` in ``native/rtp_side.c``)."""
        st = self.stream
        src = st.source
        if src.kind != "forward" or src.origin != origin or st.events or st.overlay or st.stopped:
            return False
        now = asyncio.get_running_loop().time()
        key = (origin, ssrc)
        delta = (timestamp - st.last_src_ts) & 0xFFFFFFFF
        if key == st.last_key and 0 < delta <= MAX_FORWARD_JUMP:
            st.ts = (st.ts + delta) & 0xFFFFFFFF
        else:
            self._advance(now)
            st.marker = True
        st.last_key, st.last_src_ts = key, timestamp
        st.forwarded += 1
        self._emit(st.codec.payload_type, payload, st.ts, now)
        return True

    def stop(self) -> None:
        st = self.stream
        st.stopped = True
        st.events.clear()
        st.overlay.clear()
        self._release_routes()
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None

    def _release_routes(self) -> None:
        """Native routes would stop sending on this stream by themselves (their source guard);
        disarming them frees what they hold at once."""
        routes, self.native_routes = self.native_routes, []
        for route in routes:
            route.disarm()

    # -- sending ---------------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        st = self.stream
        elapsed = now - st.last_sent_at
        frames = max(1, round(elapsed / FRAME_S)) if st.packets_sent and elapsed > PAUSE_S else 1
        st.ts = (st.ts + frames * FRAME_SAMPLES) & 0xFFFFFFFF

    def _emit(self, payload_type: int, payload: bytes, timestamp: int, now: float, marker: bool | None = None) -> None:
        st = self.stream
        mark = st.marker if marker is None else marker
        st.marker = False
        st.seq = (st.seq + 1) & 0xFFFF
        st.last_sent_at = now
        st.packets_sent += 1
        if st.paused:
            return
        header = _HEADER.pack(0x80, (0x80 if mark else 0) | payload_type, st.seq, timestamp, st.ssrc)
        self._send(header + payload)

    def _kick(self) -> None:
        if self.stream.stopped:
            return
        if (self._clock is None or self._clock.done()) and self._needs_clock():
            self._clock = asyncio.ensure_future(self._run_clock())
        self._wake.set()

    def _needs_clock(self) -> bool:
        st = self.stream
        return st.source.kind in ("clip", "pull") or bool(st.events) or bool(st.overlay)

    async def _run_clock(self) -> None:
        """20 ms ticks while a clip, an overlay or events play; ends when only forwarding is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while not self.stream.stopped and self._needs_clock():
            now = loop.time()
            if now - deadline > 0.1:
                deadline = now  # we were starved: skip ahead, do not burst
            self._tick(now)
            deadline += FRAME_S
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def _tick(self, now: float) -> None:
        st = self.stream
        if st.events and now >= self._events_after:
            packet, payload_type = st.events.popleft()
            if packet.start:
                self._advance(now)
                self._event_ts = st.ts
            elif not packet.repeat:
                st.ts = (st.ts + FRAME_SAMPLES) & 0xFFFFFFFF
            self.events_sent += 1
            self._emit(payload_type, packet.payload, self._event_ts, now, marker=packet.start)
            while st.events and st.events[0][0].repeat:  # end retransmissions go back to back
                repeat, pt = st.events.popleft()
                self.events_sent += 1
                self._emit(pt, repeat.payload, self._event_ts, now, marker=False)
            if packet.gap_after_s or (st.events and st.events[0][0].start):
                self._events_after = now + packet.gap_after_s
            st.last_key = None
            st.marker = True
            return
        if st.overlay:
            self._advance(now)
            self._emit(st.codec.payload_type, st.overlay.popleft(), st.ts, now)
            st.last_key = None
            return
        if st.source.kind == "pull":
            pulled = self._pull() if self._pull is not None else None
            self._advance(now)
            self._emit(st.codec.payload_type, pulled if pulled is not None else clips.silence(st.codec.name),
                       st.ts, now)
            return
        if st.source.kind == "clip":
            packets = clips.cached(st.source.clip, st.codec.name)
            payload = packets[self._clip_index % len(packets)] if packets else clips.silence(st.codec.name)
            self._clip_index += 1
            self._advance(now)
            self._emit(st.codec.payload_type, payload, st.ts, now)
