"""Light load clients for `bench.calls`: signalling through `PhoneClient`, media without any codec.

A real browser costs the server the same whatever it encodes, so a load client only has to put
well-formed Opus RTP on the wire at 50 packets/s and notice what comes back:

- `StampedOpusTrack` is an aiortc track whose `recv()` returns `av.Packet`s (the sender only
  packetizes them, like `zorio_widget.media.outbound`), cycling through the pre-encoded `music`
  clip of `zorio_widget.media.clips`. Each payload is rewritten as an Opus "code 3" packet with
  one frame and RFC 6716 §3.2.5 padding; the padding carries (stream id, sequence number, send
  time). Decoders ignore padding, so the packet is still valid Opus that a browser would play,
  and the server relays payload bytes unchanged, so the stamp survives the bridge.
- `RxLog` is installed with `aiortc_hook.set_packet_sink` on the client's receiver: packets are
  diverted before aiortc's jitter buffer and decoder (nothing is ever decoded on the client), and
  each stamped packet's arrival time (`time.monotonic_ns`, the same clock as the stamp) is logged.

`run_worker()` is the body of one load process (started by `bench.calls` with multiprocessing):
it owns some calls, caller and callee of each call in the same process, plus one direct
client-to-client pair (no server) that serves as the latency baseline. It talks to the parent
through a `multiprocessing` pipe, one phase at a time (see `bench.calls`).
"""

from __future__ import annotations

import asyncio
import fractions
import os
import random
import struct
import time
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from zorio_widget.client import PhoneClient
from zorio_widget.media import aiortc_hook
from zorio_widget.media.aiortc_hook import ReceivedPacket
from zorio_widget.media.clips import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE_HZ, load_clip

ORIGIN = "http://127.0.0.1:5173"
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE_HZ)
STAMP = struct.Struct("!2siIq")
"magic, stream id, sequence number, send time (ns, CLOCK_MONOTONIC)."
STAMP_MAGIC = b"ZB"
MAX_SEND_LAG_S = 0.060
"A sender this late skips ahead (a real gap) instead of bursting, like a browser would."
SIGNAL_TIMEOUT_S = 60.0
TICK_S = 0.002
"The pacer's tick: each serves one tenth of the tracks of the process."


# -- packets ------------------------------------------------------------------------------------

def stamp_opus(payload: bytes, stream_id: int, seq: int, sent_ns: int) -> bytes:
    """A code-0 Opus packet rewritten as code 3 (1 frame, CBR) with the stamp in its padding."""
    if payload[0] & 0x03:
        raise ValueError("only single-frame (code 0) Opus packets can be stamped")
    pad = STAMP.pack(STAMP_MAGIC, stream_id, seq, sent_ns)
    # TOC with c=3; frame count byte: v=0, p=1, M=1; one padding-length byte (< 255).
    return bytes(((payload[0] & 0xFC) | 0x03, 0x41, len(pad))) + payload[1:] + pad


def read_stamp(payload: bytes) -> tuple[int, int, int] | None:
    """(stream id, seq, send time ns) of a stamped payload, else None."""
    if len(payload) < STAMP.size + 3 or payload[-STAMP.size:-STAMP.size + 2] != STAMP_MAGIC:
        return None
    _magic, stream_id, seq, sent_ns = STAMP.unpack_from(payload, len(payload) - STAMP.size)
    return stream_id, seq, sent_ns


class StampedOpusTrack(MediaStreamTrack):
    """Sends pre-encoded, stamped Opus packets every 20 ms; no encoder anywhere."""

    kind = "audio"

    def __init__(self, stream_id: int, payloads: tuple[bytes, ...]) -> None:
        super().__init__()
        self.stream_id = stream_id
        self._payloads = payloads
        self._offset = random.randrange(len(payloads))
        self._start: float | None = None
        self._next = 0.0
        self.sent_ns = array("q")
        "Send time of each packet; the index is the packet's sequence number."
        self.late_skips = 0
        "Times the sender fell > 60 ms behind its clock (a sign the client, not the server, is slow)."
        self.direct_send: aiortc_hook.DirectSend | None = None
        "Given by the sender loop (``aiortc_hook.DIRECT_SEND_ATTR``): the ``Pacer`` sends through it."
        self._parked: asyncio.Future[None] | None = None

    async def recv(self) -> av.Packet:
        """The stock path (one sender-task wake-up per packet), for a sender without ``direct_send``."""
        if self.readyState != "live":
            raise MediaStreamError
        if self.direct_send is not None:
            # The pacer sends through direct_send; this sender loop only has to stay parked.
            self._parked = asyncio.get_running_loop().create_future()
            await self._parked
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = self._next = now
        delay = self._next - now
        if delay > 0:
            await asyncio.sleep(delay)
        if self.readyState != "live":
            raise MediaStreamError
        payload, pts = self._next_packet(time.monotonic())
        packet = av.Packet(payload)
        packet.pts = pts
        packet.time_base = TIME_BASE
        return packet

    def send_due(self, now: float) -> None:
        """Called by the ``Pacer``: send the next packet now if it is due (20 ms clock)."""
        direct = self.direct_send
        if direct is None or self.readyState != "live" or not direct.ready():
            return
        if self._start is None:
            self._start = self._next = now
        if now + TICK_S / 2 < self._next:
            return
        direct.send(*self._next_packet(now))

    def stop(self) -> None:
        super().stop()
        if self._parked is not None and not self._parked.done():
            self._parked.set_result(None)

    def _next_packet(self, now: float) -> tuple[bytes, int]:
        assert self._start is not None
        if now - self._next > MAX_SEND_LAG_S:
            self.late_skips += 1
            self._next += round((now - self._next) / FRAME_S) * FRAME_S
        slot = round((self._next - self._start) / FRAME_S)
        self._next += FRAME_S
        seq = len(self.sent_ns)
        sent_ns = time.monotonic_ns()
        self.sent_ns.append(sent_ns)
        raw = self._payloads[(self._offset + seq) % len(self._payloads)]
        return stamp_opus(raw, self.stream_id, seq, sent_ns), slot * FRAME_SAMPLES

    def seqs_sent_between(self, t0_ns: int, t1_ns: int) -> range:
        return range(bisect_left(self.sent_ns, t0_ns), bisect_right(self.sent_ns, t1_ns))


class Pacer:
    """Sends every track's packets from ONE timer of this load process instead of one sender task
    per leg: each tick serves one group of tracks, so the packets of a process stay spread over
    the 20 ms (as independent browsers' would be), at a fraction of the client's CPU."""

    def __init__(self) -> None:
        self._groups: list[list[StampedOpusTrack]] = [[] for _ in range(round(FRAME_S / TICK_S))]
        self._task: asyncio.Task[None] | None = None

    def add(self, track: StampedOpusTrack) -> None:
        min(self._groups, key=len).append(track)
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        tick = 0
        deadline = loop.time()
        while True:
            for track in self._groups[tick % len(self._groups)]:
                track.send_due(loop.time())
            tick += 1
            deadline += TICK_S
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class RxLog:
    """Receive tap of one client leg: arrival time of every stamped packet from the expected peer."""

    def __init__(self, expect_stream: int) -> None:
        self.expect_stream = expect_stream
        self.seq = array("q")
        self.sent_ns = array("q")
        self.arrival_ns = array("q")
        self.unstamped = 0
        "Packets the server generated itself (ringback, silence)."
        self.misrouted = 0
        "Stamped packets from a stream other than this leg's peer (cross-talk: must stay 0)."

    def __call__(self, packet: ReceivedPacket) -> None:
        now = time.monotonic_ns()
        stamp = read_stamp(packet.payload)
        if stamp is None:
            self.unstamped += 1
            return
        stream_id, seq, sent_ns = stamp
        if stream_id != self.expect_stream:
            self.misrouted += 1
            return
        self.seq.append(seq)
        self.sent_ns.append(sent_ns)
        self.arrival_ns.append(now)


class LightLeg:
    """An aiortc peer that sends stamped packets and logs what it receives, never decoding."""

    def __init__(self, stream_id: int, expect_stream: int, payloads: tuple[bytes, ...], pacer: Pacer) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = StampedOpusTrack(stream_id, payloads)
        self.pc.addTrack(self.track)
        pacer.add(self.track)
        self.rx = RxLog(expect_stream)
        self._attached = False

    def attach(self) -> None:
        """Install the receive tap (after the remote description created the receiver)."""
        if not self._attached:
            aiortc_hook.set_packet_sink(self.pc.getTransceivers()[0].receiver, self.rx)
            self._attached = True

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.attach()
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        self.attach()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def close(self) -> None:
        self.track.stop()
        await self.pc.close()


# -- measurements --------------------------------------------------------------------------------

@dataclass
class FlowStats:
    """One direction of one call (sender track -> receiver tap), restricted to the window."""

    sent: int
    received: int
    latency_ms: np.ndarray
    gap_ms: np.ndarray
    send_gap_ms: np.ndarray


def flow_stats(track: StampedOpusTrack, rx: RxLog, t0_ns: int, t1_ns: int) -> FlowStats:
    window = track.seqs_sent_between(t0_ns, t1_ns)
    seq = np.frombuffer(rx.seq, dtype=np.int64)
    arrival = np.frombuffer(rx.arrival_ns, dtype=np.int64)
    sent_at = np.frombuffer(rx.sent_ns, dtype=np.int64)
    inside = (seq >= window.start) & (seq < window.stop)
    seq, arrival, sent_at = seq[inside], arrival[inside], sent_at[inside]
    received = int(np.unique(seq).size)
    send_times = np.frombuffer(track.sent_ns, dtype=np.int64)[window.start:window.stop]
    return FlowStats(
        sent=len(window),
        received=received,
        latency_ms=((arrival - sent_at) / 1e6).astype(np.float32),
        gap_ms=(np.diff(arrival) / 1e6).astype(np.float32),
        send_gap_ms=(np.diff(send_times) / 1e6).astype(np.float32),
    )


@dataclass
class WorkerResult:
    index: int
    setup_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    "Per bridged flow (two per call)."
    received: list[int] = field(default_factory=list)
    latency_ms: list[np.ndarray] = field(default_factory=list)
    gap_ms: list[np.ndarray] = field(default_factory=list)
    send_gap_ms: list[np.ndarray] = field(default_factory=list)
    direct_sent: int = 0
    direct_received: int = 0
    direct_latency_ms: list[np.ndarray] = field(default_factory=list)
    direct_gap_ms: list[np.ndarray] = field(default_factory=list)
    late_skips: int = 0
    misrouted: int = 0
    teardown_failures: list[str] = field(default_factory=list)


# -- one load process ----------------------------------------------------------------------------

@dataclass
class WorkerSpec:
    index: int
    ws_url: str
    pairs: list[tuple[str, str, str, str]]
    "(caller extension, caller token, callee extension, callee token) per call."
    call_rate_per_s: float
    "How fast this worker places its calls (the setup latency is measured under this arrival rate)."
    direct_pair: bool = True
    callee_ws_urls: list[str] | None = None
    "Where each pair's callee connects (a cluster: another server process); default `ws_url`."


@dataclass
class BenchCall:
    index: int
    caller_phone: PhoneClient
    callee_phone: PhoneClient
    callee_ext: str
    caller: LightLeg
    callee: LightLeg
    call_id: str = ""
    callee_call_id: str = ""
    setup_ms: float = 0.0


async def _place(call: BenchCall) -> None:
    async def callee_side() -> None:
        incoming = await call.callee_phone.expect("call.incoming", timeout_s=SIGNAL_TIMEOUT_S)
        call.callee_call_id = incoming["call_id"]
        sdp = await call.callee.answer(incoming["sdp"])
        await call.callee_phone.send({"type": "call.answer", "call_id": incoming["call_id"], "sdp": sdp})

    callee_task = asyncio.create_task(callee_side())
    try:
        offer = await call.caller.offer()
        started = time.monotonic()
        trying = await call.caller_phone.request(
            {"type": "call.create", "destination": call.callee_ext, "sdp": offer}, "call.trying",
            timeout_s=SIGNAL_TIMEOUT_S,
        )
        if trying["type"] == "error":
            raise RuntimeError(f"call.create refused: {trying.get('code')} {trying.get('message')}")
        call.call_id = trying["call_id"]
        answer = await call.caller_phone.expect("sdp.answer", timeout_s=SIGNAL_TIMEOUT_S, call_id=call.call_id)
        await call.caller.accept_answer(answer["sdp"])
        await call.caller_phone.expect("call.answered", timeout_s=SIGNAL_TIMEOUT_S, call_id=call.call_id)
        call.setup_ms = (time.monotonic() - started) * 1000
        await callee_task
    finally:
        if not callee_task.done():
            callee_task.cancel()
            await asyncio.gather(callee_task, return_exceptions=True)


async def _hang_up(call: BenchCall) -> None:
    await call.caller_phone.send({"type": "call.hangup", "call_id": call.call_id})
    await call.caller_phone.expect("call.ended", timeout_s=SIGNAL_TIMEOUT_S, call_id=call.call_id)
    await call.callee_phone.expect("call.ended", timeout_s=SIGNAL_TIMEOUT_S, call_id=call.callee_call_id)


async def _direct_pair(payloads: tuple[bytes, ...], pacer: Pacer) -> tuple[LightLeg, LightLeg]:
    a, b = LightLeg(-1, -2, payloads, pacer), LightLeg(-2, -1, payloads, pacer)
    answer = await b.answer(await a.offer())
    await a.accept_answer(answer)
    return a, b


class _Pipe:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def send(self, *msg: Any) -> None:
        self.conn.send(msg)

    async def recv(self) -> tuple[Any, ...]:
        return tuple(await asyncio.to_thread(self.conn.recv))


async def _worker(pipe: _Pipe, spec: WorkerSpec) -> None:
    aiortc_hook.install()
    payloads = (await load_clip("music")).packets
    result = WorkerResult(spec.index)
    pacer = Pacer()

    phones: list[PhoneClient] = []

    async def phone(token: str, ws_url: str) -> PhoneClient:
        client = await PhoneClient.connect(ws_url, token, origin=ORIGIN)
        await client.registered()
        phones.append(client)
        return client

    calls: list[BenchCall] = []
    callee_urls = spec.callee_ws_urls or [spec.ws_url] * len(spec.pairs)
    for i, (_caller_ext, caller_token, callee_ext, callee_token) in enumerate(spec.pairs):
        caller_phone, callee_phone = await phone(caller_token, spec.ws_url), await phone(callee_token, callee_urls[i])
        stream = (spec.index << 16) + 2 * i
        calls.append(BenchCall(i, caller_phone, callee_phone, callee_ext,
                               LightLeg(stream, stream + 1, payloads, pacer),
                               LightLeg(stream + 1, stream, payloads, pacer)))
    direct = await _direct_pair(payloads, pacer) if spec.direct_pair else None
    pipe.send("ready", os.getpid())

    await pipe.recv()  # ("go",)
    interval = 1.0 / spec.call_rate_per_s if spec.call_rate_per_s > 0 else 0.0
    placing: list[asyncio.Task[None]] = []
    for call in calls:
        placing.append(asyncio.create_task(_place(call)))
        if interval:
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))
    outcomes = await asyncio.gather(*placing, return_exceptions=True)
    live: list[BenchCall] = []
    for call, outcome in zip(calls, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            result.failures.append(f"call {spec.index}/{call.index}: {outcome!r}"[:300])
        else:
            live.append(call)
            result.setup_ms.append(call.setup_ms)
    pipe.send("answered", len(live))

    _cmd, t0_ns, t1_ns, grace_s = await pipe.recv()  # ("window", ...)
    await asyncio.sleep(max(0.0, (t1_ns - time.monotonic_ns()) / 1e9 + grace_s))
    for call in live:
        for sender, receiver in ((call.caller, call.callee), (call.callee, call.caller)):
            flow = flow_stats(sender.track, receiver.rx, t0_ns, t1_ns)
            result.sent.append(flow.sent)
            result.received.append(flow.received)
            result.latency_ms.append(flow.latency_ms)
            result.gap_ms.append(flow.gap_ms)
            result.send_gap_ms.append(flow.send_gap_ms)
    if direct is not None:
        for sender, receiver in (direct, direct[::-1]):
            flow = flow_stats(sender.track, receiver.rx, t0_ns, t1_ns)
            result.direct_sent += flow.sent
            result.direct_received += flow.received
            result.direct_latency_ms.append(flow.latency_ms)
            result.direct_gap_ms.append(flow.gap_ms)
    legs = [leg for call in calls for leg in (call.caller, call.callee)] + list(direct or ())
    result.late_skips = sum(leg.track.late_skips for leg in legs)
    result.misrouted = sum(leg.rx.misrouted for leg in legs)
    pipe.send("measured")

    await pipe.recv()  # ("hangup",)
    ended = await asyncio.gather(*(_hang_up(call) for call in live), return_exceptions=True)
    result.teardown_failures = [repr(e)[:300] for e in ended if isinstance(e, BaseException)]
    await pacer.close()
    await asyncio.gather(*(leg.close() for leg in legs), return_exceptions=True)
    await asyncio.gather(*(p.close() for p in phones), return_exceptions=True)
    pipe.send("closed", result)


def run_worker(conn: Any, spec: WorkerSpec) -> None:
    """multiprocessing target: one load process."""
    try:
        asyncio.run(_worker(_Pipe(conn), spec))
    except BaseException as exc:
        conn.send(("crashed", repr(exc)))
        raise
