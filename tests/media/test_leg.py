"""MediaLeg negotiation, bad input, failure reporting and resource release."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import threading

import psutil
import pytest
from aiortc import RTCSessionDescription

from zorio_widget.media import BadSdp, CallCapacity, MediaLeg

from .conftest import Client, MediaFactory, wait_until

pytestmark = pytest.mark.timeout(15)


def udp_sockets() -> int:
    return len(psutil.Process().net_connections(kind="udp"))


def fd_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def media_threads() -> int:
    """Threads other than the default executor's pool (which grows lazily up to its cap)."""
    return len([t for t in threading.enumerate() if not t.name.startswith("asyncio_")])


def other_tasks() -> int:
    return len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])


async def client_offer() -> tuple[Client, str]:
    client = Client(500.0)
    await client.pc.setLocalDescription(await client.pc.createOffer())
    return client, client.pc.localDescription.sdp


GARBAGE = [
    "",
    "hello",
    "v=0\r\nthis is not sdp\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",  # no media at all
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n",
    "v=0\r\nm=audio notaport RTP/AVP 0\r\n",
]


@pytest.mark.parametrize("sdp", GARBAGE, ids=range(len(GARBAGE)))
async def test_garbage_offer_raises_bad_sdp_and_leaves_nothing_running(sdp: str) -> None:
    tasks, sockets = other_tasks(), udp_sockets()
    leg = MediaLeg()
    with pytest.raises(BadSdp) as err:
        await leg.accept_offer(sdp)
    assert str(err.value) and err.value.code == "bad_sdp"
    assert leg.closed.is_set() and leg.state == "closed"
    # cancelled tasks end a few loop turns later (not within a fixed 0.05 s on a loaded machine)
    await wait_until(lambda: other_tasks() <= tasks and udp_sockets() <= sockets)
    assert other_tasks() <= tasks and udp_sockets() <= sockets


async def test_offer_without_opus_or_with_video_is_refused() -> None:
    client, sdp = await client_offer()
    try:
        no_opus = re.sub(r"a=rtpmap:96 opus/48000/2\r\n", "", sdp).replace(" 96 ", " ")
        with pytest.raises(BadSdp, match="Opus"):
            await MediaLeg().accept_offer(no_opus)
        no_ice = re.sub(r"a=ice-pwd:.*\r\n", "", sdp)
        with pytest.raises(BadSdp, match="ICE"):
            await MediaLeg().accept_offer(no_ice)
        video = sdp + sdp[sdp.index("m=audio") :].replace("m=audio", "m=video").replace("a=mid:0", "a=mid:1")
        with pytest.raises(BadSdp, match="exactly one audio"):
            await MediaLeg().accept_offer(video)
    finally:
        await client.close()


async def test_answer_forces_opus_first_and_keeps_telephone_event(media: MediaFactory) -> None:
    client, sdp = await client_offer()
    media.clients.append(client)
    # a "browser" that prefers PCMU and offers RED: the server still answers Opus
    m_line = re.search(r"m=audio .*", sdp).group(0).strip()
    pcmu_first = sdp.replace(m_line, m_line.replace(" 96 ", " 0 96 ").replace(" 0 8 ", " 8 ", 1))
    answer = await media.leg().accept_offer(pcmu_first)
    fmts = re.search(r"m=audio \S+ \S+ (.*)", answer).group(1).split()
    rtpmap = dict(re.findall(r"a=rtpmap:(\d+) (\S+)", answer))
    assert [rtpmap[f] for f in fmts] == ["opus/48000/2", "telephone-event/48000", "telephone-event/8000"]
    assert "a=fmtp:96 minptime=10;useinbandfec=1" in answer


async def test_server_offer_is_opus_and_telephone_event_only(media: MediaFactory) -> None:
    offer = await media.leg().create_offer()
    fmts = re.search(r"m=audio \S+ \S+ (.*)", offer).group(1).split()
    rtpmap = dict(re.findall(r"a=rtpmap:(\d+) (\S+)", offer))
    assert [rtpmap[f] for f in fmts] == ["opus/48000/2", "telephone-event/48000", "telephone-event/8000"]


async def test_accept_answer_requires_a_pending_offer_and_valid_sdp(media: MediaFactory) -> None:
    leg = media.leg()
    with pytest.raises(BadSdp, match="no offer"):
        await leg.accept_answer("v=0\r\n")
    await leg.create_offer()
    with pytest.raises(BadSdp):
        await leg.accept_answer("garbage")
    assert leg.closed.is_set()


async def test_trickled_candidates(media: MediaFactory) -> None:
    """The client sends its SDP without candidates and trickles them, as a browser does."""
    client, leg = media.client(500.0), media.leg()
    await client.pc.setLocalDescription(await client.pc.createOffer())
    full = client.pc.localDescription.sdp
    candidates = re.findall(r"a=(candidate:.*)\r\n", full)
    assert candidates
    bare = re.sub(r"a=candidate:.*\r\n|a=end-of-candidates\r\n", "", full)
    # one candidate arrives before the offer is processed: it must be kept, not lost
    await leg.add_ice_candidate(candidates[0], "0", 0)
    answer = await leg.accept_offer(bare)
    for candidate in candidates[1:]:
        await leg.add_ice_candidate(candidate, "0", 0)
    await leg.add_ice_candidate(None)
    await leg.add_ice_candidate("", None, None)  # end-of-candidates, JS style
    await client.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await wait_until(lambda: leg.state == "connected")

    for bad in ("candidate:1 1 udp", "candidate:x y udp 1 1.2.3.4 notaport typ host"):
        with pytest.raises(BadSdp):
            await leg.add_ice_candidate(bad, "0", 0)
    with pytest.raises(BadSdp):
        await leg.add_ice_candidate(candidates[0], None, None)


async def test_public_address_is_advertised_and_call_still_connects(media: MediaFactory) -> None:
    client, sdp = await client_offer()
    media.clients.append(client)
    leg = media.leg(public_address="203.0.113.7")
    answer = await leg.accept_offer(sdp)
    hosts = re.findall(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", answer)
    publics = re.findall(r"a=candidate:\S+ 1 udp \d+ 203\.0\.113\.7 (\d+) typ srflx raddr (\S+) rport (\d+)", answer)
    assert hosts and sorted(publics) == sorted((port, host, port) for host, port in hosts if ":" not in host)
    await client.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await wait_until(lambda: leg.state == "connected")


async def test_remote_close_reports_failure_once(media: MediaFactory) -> None:
    client, leg = await media.pair(500.0)
    states: list[str] = []
    failed: list[MediaLeg] = []
    leg.on_state = states.append
    leg.on_failed = failed.append
    await client.close()
    await asyncio.wait_for(leg.closed.wait(), 5)
    await asyncio.sleep(0.05)
    assert failed == [leg]
    assert states == ["closed"]
    await leg.close()  # idempotent, no second report
    assert failed == [leg]


async def test_close_does_not_report_failure(media: MediaFactory) -> None:
    _client, leg = await media.pair(500.0)
    failed: list[MediaLeg] = []
    leg.on_failed = failed.append
    await leg.close()
    await asyncio.sleep(0.1)
    assert failed == [] and leg.state == "closed"


@pytest.mark.timeout(60)
async def test_fifty_sequential_bridged_calls_leak_nothing(media: MediaFactory, caplog: pytest.LogCaptureFixture) -> None:
    """Tasks, UDP sockets, threads and RSS return to baseline after each bridged call."""
    caplog.set_level(logging.WARNING)  # pytest keeps every captured record: they would count as a leak

    async def one_call(i: int) -> None:
        factory = MediaFactory()
        try:
            (_a, leg_a), (_b, leg_b) = await asyncio.gather(
                factory.pair(500.0, leg_id=f"a{i}"), factory.pair(900.0, incoming=bool(i % 2), leg_id=f"b{i}")
            )
            factory.bridge.connect(leg_a, leg_b)
            await wait_until(lambda: leg_b.outbound.forwarded > 2 and leg_a.outbound.forwarded > 2)
        finally:
            await factory.close()
        assert not factory.bridge._legs, "closed legs must leave the bridge"

    for i in range(3):  # warm-up: clips, codec tables, thread pools, allocator arenas
        await one_call(i)
    await asyncio.sleep(0.2)
    gc.collect()
    process = psutil.Process()
    base = (other_tasks(), udp_sockets(), fd_sockets(), media_threads(), process.memory_info().rss)
    objects = len(gc.get_objects())
    for i in range(50):
        await one_call(i)

    def released() -> bool:  # the last call's tasks and threads end a moment after its close
        return other_tasks() <= base[0] and udp_sockets() <= base[1] and fd_sockets() <= base[2] and media_threads() <= base[3]

    await asyncio.sleep(0.3)
    await wait_until(released)  # rather than only the fixed 0.3 s, which a loaded machine can outrun
    gc.collect()
    after = (other_tasks(), udp_sockets(), fd_sockets(), media_threads(), process.memory_info().rss)
    assert after[0] <= base[0] and after[1] <= base[1] and after[2] <= base[2] and after[3] <= base[3], (base, after)
    assert len(gc.get_objects()) - objects < 1000, "Python objects accumulate"
    assert after[4] - base[4] < 15 * 2**20, f"RSS grew {(after[4] - base[4]) / 2**20:.1f} MiB over 50 calls"


def test_call_capacity() -> None:
    cap = CallCapacity(2)
    assert cap.try_acquire() and cap.try_acquire()
    assert not cap.try_acquire()
    assert (cap.in_use, cap.available) == (2, 0)
    cap.release()
    assert cap.try_acquire()
    cap.release()
    cap.release()
    with pytest.raises(RuntimeError):
        cap.release()
    assert not CallCapacity(0).try_acquire()
    with pytest.raises(ValueError):
        CallCapacity(-1)


async def test_reoffer_on_a_connected_leg_keeps_the_call(media: MediaFactory) -> None:
    client, leg = await media.pair(500.0)
    await client.pc.setLocalDescription(await client.pc.createOffer())
    answer = await leg.accept_offer(client.pc.localDescription.sdp)
    await client.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    with pytest.raises(BadSdp):
        await leg.accept_offer("garbage")
    assert leg.state == "connected" and not leg.closed.is_set()
    before = leg.packets_received
    await wait_until(lambda: leg.packets_received > before + 10)


async def test_a_bridge_forgets_closed_legs() -> None:
    from zorio_widget.media import Bridge

    bridge = Bridge()
    a, b = MediaLeg("mod-a"), MediaLeg("mod-b")
    bridge.connect(a, b)
    assert bridge.peer_of(a) is b
    bridge.mute(a)
    assert b.outbound.source.clip == "silence"
    await a.close()
    assert bridge.peer_of(b) is None and "mod-a" not in bridge._legs
    assert b.outbound.source.clip == "silence"
    await b.close()
    assert not bridge._legs


async def test_a_replaced_leg_keeps_its_peer_mute_and_hold() -> None:
    from zorio_widget.media import Bridge

    bridge = Bridge()
    a, b, a2 = MediaLeg("rep-a"), MediaLeg("rep-b"), MediaLeg("rep-a2")
    bridge.connect(a, b)
    bridge.mute(a)
    bridge.hold(b)
    bridge.replace(a, a2)
    assert bridge.peer_of(a2) is b and bridge.peer_of(b) is a2 and "rep-a" not in bridge._legs
    assert bridge.is_muted(a2) and bridge.is_holding(b) and not bridge.is_holding(a2)
    assert a2.outbound.source.clip == "music" and b.outbound.source.clip == "silence"
    bridge.unhold(b)
    assert b.outbound.source.clip == "silence"  # a2 is still muted
    bridge.unmute(a2)
    assert b.outbound.source.origin == "rep-a2" and a2.outbound.source.origin == "rep-b"
    await a.close()  # the old connection closing changes nothing any more
    assert bridge.peer_of(b) is a2
    for leg in (a2, b):
        await leg.close()
    assert not bridge._legs
