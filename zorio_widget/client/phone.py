"""`PhoneClient`: one registered device speaking the signalling protocol, with aiortc calls."""

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from zorio_widget.client.audio import AudioProbe, ToneTrack


class UnexpectedFrame(AssertionError):
    pass


@dataclass(eq=False)
class ClientCall:
    client: "PhoneClient"
    call_id: str
    uuid: str
    pc: RTCPeerConnection
    tone: ToneTrack
    probe: AudioProbe | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, msg_type: str, **fields: Any) -> None:
        await self.client.send({"type": msg_type, "call_id": self.call_id, **fields})

    async def expect(self, msg_type: str, timeout_s: float = 5.0, **match: Any) -> dict[str, Any]:
        return await self.client.expect(msg_type, timeout_s=timeout_s, call_id=self.call_id, **match)

    async def hangup(self) -> None:
        await self.send("call.hangup")

    async def close(self) -> None:
        if self.probe is not None:
            await self.probe.stop()
        await self.pc.close()


class PhoneClient:
    """Frames are kept in an inbox; `expect()` takes the first matching one, waiting if needed."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._req_ids = itertools.count(1)
        self._reader = asyncio.create_task(self._read(), name="phone-client-reader")
        self.calls: list[ClientCall] = []

    @classmethod
    async def connect(cls, ws_url: str, token: str | None = None, origin: str | None = None,
                      query_token: bool = False) -> "PhoneClient":
        url = f"{ws_url}?token={token}" if (query_token and token) else ws_url
        headers = {"Origin": origin} if origin else None
        ws = await websockets.connect(url, additional_headers=headers, max_size=2**20)
        client = cls(ws)
        if token and not query_token:
            await client.send({"type": "auth", "token": token})
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.inbox.append(frame)
                self.history.append(frame)
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._arrived.set()

    @property
    def closed(self) -> bool:
        return self._reader.done()

    def next_req_id(self) -> str:
        return f"r{next(self._req_ids)}"

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, raw: str) -> None:
        await self.ws.send(raw)

    async def expect(self, msg_type: str, timeout_s: float = 5.0, **match: Any) -> dict[str, Any]:
        async def take() -> dict[str, Any]:
            while True:
                for i, frame in enumerate(self.inbox):
                    if frame.get("type") == msg_type and all(frame.get(k) == v for k, v in match.items()):
                        return self.inbox.pop(i)
                if self.closed:
                    raise UnexpectedFrame(f"socket closed while waiting for {msg_type} {match}; got {self.inbox}")
                self._arrived.clear()
                await self._arrived.wait()

        try:
            return await asyncio.wait_for(take(), timeout_s)
        except TimeoutError:
            raise UnexpectedFrame(f"no {msg_type} {match} within {timeout_s}s; inbox: {self.inbox}") from None

    async def request(self, frame: dict[str, Any], reply: str, timeout_s: float = 5.0) -> dict[str, Any]:
        """Sends a frame with a fresh req_id and waits for `reply` or an `error` with that req_id."""
        req_id = self.next_req_id()
        await self.send({**frame, "req_id": req_id})

        async def first() -> dict[str, Any]:
            done, pending = await asyncio.wait(
                [asyncio.create_task(self.expect(reply, timeout_s, req_id=req_id)),
                 asyncio.create_task(self.expect("error", timeout_s, req_id=req_id))],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()
            return done.pop().result()

        return await first()

    async def registered(self) -> dict[str, Any]:
        return await self.expect("registered")

    @staticmethod
    def new_pc(tone_hz: float | None) -> tuple[RTCPeerConnection, ToneTrack]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        tone = ToneTrack(tone_hz)
        pc.addTrack(tone)
        return pc, tone

    async def call(self, destination: str, tone_hz: float | None = 440.0,
                   options: dict[str, Any] | None = None) -> ClientCall:
        """Places a call: offer → call.create → call.trying → sdp.answer."""
        pc, tone = self.new_pc(tone_hz)
        probe_ready = _probe_on_track(pc)
        await pc.setLocalDescription(await pc.createOffer())
        frame: dict[str, Any] = {"type": "call.create", "destination": destination, "sdp": pc.localDescription.sdp}
        if options:
            frame["options"] = options
        trying = await self.request(frame, "call.trying")
        if trying["type"] == "error":
            await pc.close()
            raise UnexpectedFrame(f"call.create failed: {trying}")
        call = ClientCall(self, trying["call_id"], trying["uuid"], pc, tone)
        answer = await call.expect("sdp.answer")
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        call.probe = await probe_ready
        self.calls.append(call)
        return call

    async def answer(self, incoming: dict[str, Any], tone_hz: float | None = 660.0) -> ClientCall:
        """Answers a `call.incoming` frame: set the server's offer, send our answer."""
        return await self.accept_offer(incoming["call_id"], incoming["uuid"], incoming["sdp"], tone_hz,
                                       reply="call.answer")

    async def accept_offer(self, call_id: str, uuid: str, sdp: str, tone_hz: float | None,
                           reply: str = "sdp.answer") -> ClientCall:
        """Answers a server offer (an incoming call, or the consult leg of an attended transfer)."""
        pc, tone = self.new_pc(tone_hz)
        probe_ready = _probe_on_track(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        call = ClientCall(self, call_id, uuid, pc, tone)
        await call.send(reply, sdp=pc.localDescription.sdp)
        call.probe = await probe_ready
        self.calls.append(call)
        return call

    async def replace_media(self, call: ClientCall, tone_hz: float | None) -> None:
        """A fresh peer connection for a live call (`sdp.offer` with `replace: true`)."""
        pc, tone = self.new_pc(tone_hz)
        probe_ready = _probe_on_track(pc)
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.request({"type": "sdp.offer", "call_id": call.call_id, "sdp": pc.localDescription.sdp,
                                    "replace": True}, "sdp.answer")
        if reply["type"] == "error":
            await pc.close()
            raise UnexpectedFrame(f"replace failed: {reply}")
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        old_pc, old_probe = call.pc, call.probe
        call.pc, call.tone, call.probe = pc, tone, await probe_ready
        if old_probe is not None:
            await old_probe.stop()
        await old_pc.close()

    async def close(self) -> None:
        for call in self.calls:
            await call.close()
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


def _probe_on_track(pc: RTCPeerConnection) -> "asyncio.Future[AudioProbe]":
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[AudioProbe] = loop.create_future()

    @pc.on("track")
    def on_track(track: Any) -> None:
        if track.kind == "audio" and not ready.done():
            ready.set_result(AudioProbe(track))

    return ready
