"""The single outbound audio track of a leg, switchable between sources without glitches.

Why one track: ``RTCRtpSender.replaceTrack`` would restart our timestamp origin and aiortc would
re-create nothing else, but the browser would still see whatever timestamps the new track
invents. Keeping ONE track per leg and switching its *source* lets this class own the RTP
timeline: it assigns every ``pts`` itself (the sender adds its random origin and renumbers
sequence numbers), so the browser sees one continuous stream whatever plays.

``recv()`` returns ``av.Packet`` objects, which ``RTCRtpSender`` only packetizes (no encoder,
docs/MEDIA-NOTES.md). Sources:

- forwarded: Opus payloads pushed by the bridge from another leg (or this leg, for echo), paced
  by their arrival; their own timestamp deltas are kept so upstream loss stays a gap for NetEq;
- a clip (ringback, music, silence), looped and paced by a 20 ms clock;
- a pulled source (``play_pull``): a playback (a file, a URL, a spoken prompt, a progress tone,
  ``media.playback.Playback``) asked for its next payload on each tick of that same clock, silence
  while it has none (loading, or over);
- a one-shot overlay (in-band DTMF) that pre-empts the current source, then hands back;
- G.711 instead of Opus (``use_codec``: a browser leg facing a trunk): clips come as 20 ms PCMU/PCMA
  payloads from the loader it is given, and forwarded timestamps (8 kHz) are scaled to the 48 kHz
  timeline, which aiortc's G.711 ``pack`` converts back;
- RFC 4733 events (``play_events``): each event packet pre-empts the source for one 20 ms slot
  and is relabelled by the sender through ``take_rtp_override`` (``aiortc_hook.send._run_rtp``):
  telephone-event payload type, marker on an event's first packet, and as RTP timestamp the
  event's start on this same timeline. Each slot still advances the timeline by 20 ms, so the
  audio after an event continues where the wall clock is (no jump). Between two digits the
  current source plays for the event's ``gap_after_s``.

The state the relay reads and writes (what plays, what is queued, the timeline, the counters)
lives in one ``timeline.Timeline``, shared with the native route (``native/srtp_side.c``); its
timeline rule (``Timeline.next_pts``) is documented there.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .aiortc_hook import DirectSend, RtpOverride
from .clips import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE_HZ, Clip, cached_clip, load_clip
from .dtmf import EventPacket
from .timeline import SILENCE, Source, Timeline

logger = logging.getLogger(__name__)

TIME_BASE: Final = fractions.Fraction(1, SAMPLE_RATE_HZ)
PAUSE_S: Final = 0.060
"A silence longer than this between two packets is reported to the far end as a gap."
G711_RATE_HZ: Final = 8000
MAX_LAG_S: Final = 0.100
"A generated source this far behind its clock skips ahead instead of bursting."


class OutboundAudio(MediaStreamTrack):
    """An aiortc audio track producing pre-encoded Opus ``av.Packet``\\ s from a switchable source."""

    kind = "audio"

    def __init__(self, owner: str = "", source: Source = SILENCE) -> None:
        super().__init__()
        self.owner = owner
        "Id of the leg that sends this track (for logs)."
        self.pause_s = PAUSE_S
        "Silences longer than this become timestamp gaps (see ``PAUSE_S``)."
        self.timeline = Timeline(source=source)
        "What plays, what is queued, the RTP timeline: shared with the native route (``timeline.py``)."
        self._clock_loop = asyncio.get_event_loop()
        self._event_pts = 0
        self._gap_until: float | None = None
        self._gap_until_pts = 0
        self._override: RtpOverride | None = None
        self._clip_index = 0
        self._pull: Callable[[], bytes | None] | None = None
        self.events_sent = 0
        "RFC 4733 event packets sent (end retransmissions included)."
        self.forward_dropped = 0
        "Relayed packets dropped because the sender fell 160 ms behind."
        self.forward_delay_max_s = 0.0
        "Longest time a relayed packet waited in this track (the relay's added latency)."
        self.forward_delay_total_s = 0.0
        self.recent_forward_delays_s: deque[float] = deque(maxlen=250)
        "The last 5 s of per-packet relay delays (diagnostics; tests take the median)."
        self.native_routes: list[Any] = []
        "Native relay routes feeding this track (``native.routes.arm``); released when it switches or stops."
        self._codec = "opus"
        self._ts_scale = 1
        self._g711_clips: Callable[[str], Awaitable[tuple[bytes, ...]]] | None = None
        self._g711_cache: dict[str, tuple[bytes, ...]] = {}

    # -- the codec -------------------------------------------------------------------------------

    @property
    def audio_codec(self) -> str:
        """What this track's payloads are: ``opus`` (the default), ``pcmu`` or ``pcma``."""
        return self._codec

    @property
    def timestamp_scale(self) -> int:
        """What relayed timestamps are multiplied by onto the 48 kHz timeline (6 for G.711)."""
        return self._ts_scale

    def use_codec(self, codec: str, clips: Callable[[str], Awaitable[tuple[bytes, ...]]]) -> None:
        """Send ``pcmu``/``pcma`` payloads: relayed ones as they come (timestamps at 8 kHz), clips
        from ``clips(name)`` (20 ms payloads of that law). Before the track starts sending."""
        if codec not in ("pcmu", "pcma"):
            raise ValueError(f"not a G.711 law: {codec!r}")
        self._codec, self._ts_scale, self._g711_clips = codec, SAMPLE_RATE_HZ // G711_RATE_HZ, clips

    # -- control (called by the bridge, any time) -------------------------------------------

    @property
    def source(self) -> Source:
        return self.timeline.source

    @property
    def packets_sent(self) -> int:
        """Packets handed to the sender so far."""
        return self.timeline.packets_sent

    @property
    def forwarded(self) -> int:
        """Of which relayed from a leg."""
        return self.timeline.forwarded

    @property
    def direct_send(self) -> DirectSend | None:
        """Set by ``aiortc_hook``'s sender loop while it runs this track (``DIRECT_SEND_ATTR``)."""
        return self.timeline.direct

    @direct_send.setter
    def direct_send(self, direct: DirectSend | None) -> None:
        self.timeline.direct = direct

    def set_source(self, source: Source) -> None:
        """Switch what plays next; takes effect within one packet."""
        t = self.timeline
        if source == t.source:
            return
        logger.debug("[leg %s] outbound %s -> %s", self.owner, t.source, source)
        t.source = source
        t.queued.clear()
        self._clip_index = 0
        if source.kind != "pull":
            self._pull = None
        self._release_routes()
        self._wake()

    def play_forwarded(self, origin: str) -> None:
        self.set_source(Source("forward", origin=origin))

    def play_clip(self, name: str) -> None:
        """Loop a clip (``ringback``, ``music``, ``silence``); one-shots go through ``play_once``."""
        self.set_source(Source("clip", clip=name))

    def play_pull(self, source: Source, pull: Callable[[], bytes | None]) -> None:
        """Play what ``pull()`` returns, one 20 ms Opus payload per tick of the generated-audio
        clock (``None``: a silent frame); ``source`` (kind ``pull``) names it."""
        if source.kind != "pull":
            raise ValueError(f"play_pull needs a pull source, not {source}")
        self._pull = pull
        self.set_source(source)

    def play_once(self, packets: Iterable[bytes]) -> None:
        """Play these Opus payloads once, pre-empting the current source (in-band DTMF)."""
        self.timeline.overlay.extend(packets)
        self.timeline.queued.clear()
        self._wake()

    @property
    def overlay_pending(self) -> int:
        """Packets of one-shot audio (DTMF) still to play."""
        return len(self.timeline.overlay)

    def play_events(self, packets: Iterable[EventPacket], payload_type: int) -> None:
        """Send these RFC 4733 packets with ``payload_type`` (needs ``aiortc_hook.install()``)."""
        self.timeline.events.extend((packet, payload_type) for packet in packets)
        self._wake()

    @property
    def events_pending(self) -> int:
        """RFC 4733 packets still to send."""
        return len(self.timeline.events)

    def take_rtp_override(self) -> RtpOverride | None:
        """For ``aiortc_hook``'s sender: how to send the packet ``recv()`` just returned."""
        override, self._override = self._override, None
        return override

    def push(self, origin: str, ssrc: int, timestamp: int, payload: bytes) -> bool:
        """Offer a forwarded Opus payload; ignored unless this track currently relays ``origin``.

        When the sender is idle waiting for exactly this, the packet goes out at once through
        ``direct_send`` (no task wake-up, no queueing: the relay's cost per packet, DESIGN §4b)
        and ``True`` is returned (the bridge may then arm the native route, ``native.routes``);
        otherwise it is queued for the sender loop. The native route checks the same conditions
        on the same ``Timeline`` (``srtp_out_guards`` in ``native/srtp_side.c``), for a packet of a
        browser leg or of a trunk leg alike.
        """
        t = self.timeline
        src = t.source
        if src.kind != "forward" or src.origin != origin or t.overlay or t.in_event:
            return False
        if self._ts_scale != 1:  # G.711 at 8 kHz onto the 48 kHz timeline
            timestamp = (timestamp * self._ts_scale) & 0xFFFFFFFF
        direct = t.direct
        if (
            direct is not None
            and t.waiter is not None
            and not t.queued
            and not t.events
            and t.live
            and direct.ready()
        ):
            self._count_forwarded(0.0)
            direct.send(*self._emit(payload, key=(origin, ssrc), src_ts=timestamp))
            return True
        if len(t.queued) == t.queued.maxlen:
            self.forward_dropped += 1
        t.queued.append((origin, ssrc, timestamp, payload, self._clock_loop.time()))
        self._wake()
        return False

    def stop(self) -> None:
        super().stop()
        t = self.timeline
        t.live = False
        self._pull = None
        self._release_routes()
        t.queued.clear()
        t.overlay.clear()
        t.events.clear()
        self._wake()

    # -- the sender's side ----------------------------------------------------------------------

    async def recv(self) -> av.Packet:
        """Next packet for ``RTCRtpSender`` (which packs it; no encoding happens)."""
        payload, pts = await self.recv_opus_payload()
        packet = av.Packet(payload)
        packet.pts = pts
        packet.time_base = TIME_BASE
        return packet

    async def recv_opus_payload(self) -> tuple[bytes, int]:
        """What ``recv()`` returns, as ``(Opus payload, pts at 48 kHz)``: aiortc_hook's sender loop
        takes this directly (``aiortc_hook.RAW_RECV_METHOD``), without an ``av.Packet``."""
        t = self.timeline
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if t.events and self._event_due():
                item = t.events[0]
                if not item[0].repeat:
                    await self._pace()
                if t.events and t.events[0] is item:
                    t.events.popleft()
                    last = not t.events or t.events[0][0].start
                    return self._emit_event(*item, last=last)
                continue
            if t.overlay:
                await self._pace()
                if t.overlay:
                    return self._emit(t.overlay.popleft(), key=None, src_ts=None)
                continue
            src = t.source
            if src.kind == "forward":
                if t.queued:
                    origin, ssrc, ts, payload, pushed_at = t.queued.popleft()
                    self._count_forwarded(self._clock_loop.time() - pushed_at)
                    return self._emit(payload, key=(origin, ssrc), src_ts=ts)
                await self._wait()
                continue
            if src.kind == "pull":
                silence = (await self._clip_packets("silence"))[0]  # in this track's codec
                await self._pace()
                if t.source is not src or t.overlay or self._pull is None:
                    continue
                pulled = self._pull()
                return self._emit(pulled if pulled is not None else silence, key=None, src_ts=None)
            packets = await self._clip_packets(src.clip)
            await self._pace()
            if t.source != src or t.overlay:
                continue
            payload = self._next_clip_packet(packets)
            return self._emit(payload, key=None, src_ts=None)

    def _release_routes(self) -> None:
        """Native routes would stop relaying to this track by themselves (their source guard);
        disarming them frees what they hold at once."""
        routes, self.native_routes = self.native_routes, []
        for route in routes:
            route.disarm()

    def _count_forwarded(self, delay_s: float) -> None:
        """A relayed packet leaves now, ``delay_s`` after it was pushed (0 when sent directly)."""
        t = self.timeline
        t.gen_deadline = None
        self.forward_delay_max_s = max(self.forward_delay_max_s, delay_s)
        self.forward_delay_total_s += delay_s
        self.recent_forward_delays_s.append(delay_s)
        t.forwarded += 1

    async def _clip_packets(self, name: str) -> tuple[bytes, ...]:
        if self._g711_clips is None:
            clip: Clip = cached_clip(name) or await load_clip(name)
            return clip.packets
        packets = self._g711_cache.get(name)
        if packets is None:
            packets = self._g711_cache[name] = await self._g711_clips(name)
        return packets

    def _next_clip_packet(self, packets: tuple[bytes, ...]) -> bytes:
        payload = packets[self._clip_index % len(packets)]
        self._clip_index += 1
        return payload

    async def _pace(self) -> None:
        """Wait for the next tick of the 20 ms clock used by generated audio."""
        t = self.timeline
        now = self._clock_loop.time()
        if t.gen_deadline is None:
            t.gen_deadline = max(now, t.last_sent_at + FRAME_S) if t.packets_sent else now
        elif now - t.gen_deadline > MAX_LAG_S:
            t.gen_deadline = now
        delay = t.gen_deadline - now
        t.gen_deadline += FRAME_S
        if delay > 0:
            await asyncio.sleep(delay)

    async def _wait(self) -> None:
        t = self.timeline
        t.waiter = self._clock_loop.create_future()
        # Between two events, the next one must start even if no forwarded packet arrives.
        timer = self._clock_loop.call_at(self._gap_until, self._wake) if t.events and self._gap_until else None
        try:
            await t.waiter
        finally:
            t.waiter = None
            if timer is not None:
                timer.cancel()

    def _event_due(self) -> bool:
        """Whether the next event may start: the audio gap after the previous one has played."""
        if self._gap_until is None:
            return True
        high = self.timeline.high_pts
        played = high is not None and high >= self._gap_until_pts
        if played or self._clock_loop.time() >= self._gap_until:
            self._gap_until = None
            return True
        return False

    def _emit_event(self, item: EventPacket, payload_type: int, last: bool) -> tuple[bytes, int]:
        t = self.timeline
        now = self._clock_loop.time()
        if item.start:
            self._event_pts = t.next_pts(None, None, now, self.pause_s)
            t.high_pts = self._event_pts if t.high_pts is None else max(t.high_pts, self._event_pts)
            t.in_event = True
            t.queued.clear()
        elif not item.repeat:
            # one more 20 ms slot of the event: the timeline moves on, the packet keeps its start
            t.high_pts = (self._event_pts if t.high_pts is None else t.high_pts) + FRAME_SAMPLES
        t.last_key, t.last_sent_at = None, now
        if last:
            t.in_event = False
        if item.gap_after_s:
            self._gap_until = now + item.gap_after_s
            self._gap_until_pts = (t.high_pts or 0) + round(item.gap_after_s / FRAME_S) * FRAME_SAMPLES
        self._override = RtpOverride(payload_type=payload_type, marker=item.start, payload=item.payload)
        t.packets_sent += 1
        self.events_sent += 1
        return item.payload, self._event_pts

    def _wake(self) -> None:
        waiter = self.timeline.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _emit(self, payload: bytes, key: tuple[str, int] | None, src_ts: int | None) -> tuple[bytes, int]:
        return payload, self.timeline.advance(key, src_ts, self._clock_loop.time(), self.pause_s)
