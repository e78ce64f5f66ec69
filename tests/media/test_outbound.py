"""The outbound track owns the RTP timeline: continuous across every source switch."""

from __future__ import annotations

import asyncio

import pytest

from zorio_widget.media import clips
from zorio_widget.media.clips import library
from zorio_widget.media.outbound import OutboundAudio, Source

from .conftest import wait_until

pytestmark = pytest.mark.timeout(10)


class Feeder:
    """Pushes 20 ms 'Opus' packets as a remote leg would, with its own RTP timeline."""

    def __init__(self, track: OutboundAudio, origin: str, ssrc: int = 7, ts: int = 0xFFFFF000) -> None:
        self.track, self.origin, self.ssrc, self.ts = track, origin, ssrc, ts
        self.skip_next = False
        self.paused = False

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            if self.skip_next:  # upstream loss: one timestamp never arrives
                self.skip_next = False
            elif not self.paused:
                self.track.push(self.origin, self.ssrc, self.ts & 0xFFFFFFFF, b"\xfc\xff\xfe")
            self.ts += 960


async def collect(track: OutboundAudio, out: list[tuple[int, str]]) -> None:
    while True:
        packet = await track.recv()
        out.append((packet.pts, str(track.source)))


@pytest.fixture
async def running():
    await clips.preload_clips()
    track = OutboundAudio("t")
    feeder = Feeder(track, "peer")
    pts: list[tuple[int, str]] = []
    tasks = [asyncio.ensure_future(feeder.run()), asyncio.ensure_future(collect(track, pts))]
    yield track, feeder, pts
    track.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def frames_played(pts: list[tuple[int, str]], count: int) -> None:
    """Until ``count`` more frames were played (a fixed sleep yields fewer on a loaded machine)."""
    mark = len(pts)
    await wait_until(lambda: len(pts) >= mark + count)


def deltas(pts: list[tuple[int, str]]) -> list[int]:
    return [b[0] - a[0] for a, b in zip(pts, pts[1:], strict=False)]


async def test_switching_sources_keeps_timestamps_continuous(running) -> None:
    track, feeder, pts = running
    # Real pauses become gaps (tested below); here a loaded CI box's scheduler hiccups must not.
    track.pause_s = 1.0
    plan = [
        Source("forward", origin="peer"),
        Source("clip", clip="music"),
        Source("forward", origin="peer"),
        Source("clip", clip="ringback"),
        Source("clip", clip="silence"),
        Source("forward", origin="peer"),
    ]
    for source in plan:
        track.set_source(source)
        await frames_played(pts, 10)  # 0.2 s of each
    track.play_once(clips.get_clip_blocking("dtmf:5").packets)  # in-band DTMF over the relay
    await asyncio.sleep(0.35)
    played = {s for _, s in pts}
    assert {"forward<peer>", "music", "ringback", "silence"} <= played
    assert len(pts) > 30
    assert set(deltas(pts)) == {960}, deltas(pts)
    assert pts[0][0] == 0


async def test_forwarded_gaps_and_new_streams() -> None:
    track = OutboundAudio("t", Source("forward", origin="peer"))

    async def relay(ssrc: int, ts: int) -> int:
        track.push("peer", ssrc, ts & 0xFFFFFFFF, b"\xfc\xff\xfe")
        return (await track.recv()).pts

    base = 0xFFFFF000  # the source's timestamps wrap around 2**32
    assert await relay(7, base) == 0
    assert await relay(7, base + 960) == 960
    assert await relay(7, base + 3 * 960) == 3 * 960  # a lost packet upstream stays a gap
    assert await relay(7, base + 2 * 960) == 2 * 960  # a late one keeps its place
    assert await relay(99, 12345) == 4 * 960  # a new stream (SSRC) continues, no wild jump
    assert await relay(99, 12345 + 960) == 5 * 960
    assert await relay(99, 12345 + 960 + 48000 * 60) == 6 * 960  # an absurd jump is a new stream too
    await asyncio.sleep(0.3)
    after_pause = await relay(5, 1)  # after a real pause the timeline follows the wall clock
    assert after_pause % 960 == 0 and 6 * 960 + 14 * 960 <= after_pause <= 6 * 960 + 40 * 960
    track.stop()


async def test_push_from_a_leg_not_being_relayed_is_ignored(running) -> None:
    track, feeder, pts = running
    track.play_clip("silence")
    await asyncio.sleep(0.1)
    track.push("someone-else", 1, 1, b"x")
    track.play_forwarded("other")  # the feeder's origin is "peer": nothing is relayed
    await asyncio.sleep(0.15)
    assert [s for _, s in pts].count("forward<other>") == 0


async def test_stop_ends_recv() -> None:
    from aiortc.mediastreams import MediaStreamError

    track = OutboundAudio("t", Source("forward", origin="x"))
    waiter = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0.01)
    track.stop()
    with pytest.raises(MediaStreamError):
        await waiter


async def test_clips_are_encoded_once_per_process() -> None:
    await clips.preload_clips()
    count = library.encode_count
    assert count <= len(clips.CLIP_NAMES)
    first = await clips.load_clip("music")
    await clips.preload_clips()
    assert library.encode_count == count and await clips.load_clip("music") is first
    ring = await clips.load_clip("ringback")
    assert len(ring.packets) == 250 and ring.loop  # 1 s on + 4 s off, 20 ms packets
    dtmf = await clips.load_clip("dtmf:#")
    assert len(dtmf.packets) == 9 and not dtmf.loop  # 100 ms tone + 80 ms pause
    with pytest.raises(KeyError):
        await clips.load_clip("jingle")
