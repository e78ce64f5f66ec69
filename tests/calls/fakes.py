"""A leg's two halves without a network: a fake endpoint and a fake media, for fast session tests.

`FakeDevice` is an `Endpoint` (a `Device`, to take part in presence) that keeps the server's
messages instead of sending frames; `FakeMedia` is a `MediaPort` whose "SDP" is a token and which
connects the moment it is negotiated. What a party hears is still decided by the real `Bridge`
on the media's real `OutboundAudio` track (never started: no peer connection, no packets), so a
test reads `media.hears` to check who hears what. `make_board` builds a real `Switchboard` with
this media, and `Call` drives it the way the consumer does: validated frames in, messages out.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zorio_widget.calls.routing import RouteKind
from zorio_widget.calls.session import Leg, Originator
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.media import BadSdp, OutboundAudio
from zorio_widget.media.dtmf import DTMF_DIGITS, EventPacket, parse_telephone_event
from zorio_widget.media.rtp import clips as g711_clips
from zorio_widget.protocol.messages import SERVER_MESSAGES, Frame, parse_frame

BAD_SDP = "v=0 unusable"
"""An offer or answer every `FakeMedia` refuses with `BadSdp`."""

_devices = itertools.count(1)


@dataclass(eq=False)
class FakeDevice:
    """One party's endpoint: records every message the call layer sends it."""

    tenant_id: int
    extension_id: int | None
    number: str
    name: str
    device_id: str = field(default_factory=lambda: f"fake{next(_devices)}")
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        assert frame["type"] in SERVER_MESSAGES, f"not a server message: {frame}"
        self.frames.append(frame)

    def types(self, call_id: str | None = None) -> list[str]:
        return [f["type"] for f in self.frames if call_id is None or f.get("call_id") == call_id]

    def last(self, msg_type: str) -> dict[str, Any]:
        found = [f for f in self.frames if f["type"] == msg_type]
        assert found, f"{self.number} got no {msg_type}: {self.types()}"
        return found[-1]


class _Track(OutboundAudio):
    """The real outbound track, keeping the digits the bridge sends as RFC 4733 events."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner=owner)
        self.digits_sent = ""

    def play_events(self, packets: Iterable[EventPacket], payload_type: int) -> None:
        packets = list(packets)
        self.digits_sent += "".join(DTMF_DIGITS[parse_telephone_event(p.payload)[0]] for p in packets if p.start)
        super().play_events(packets, payload_type)


class FakeMedia:
    """A `MediaPort`: negotiation by tokens, instant connection, a real outbound track."""

    telephone_event: tuple[int, int] | None = (101, 8000)
    "DTMF to this party goes as RFC 4733 events (queued on the track, no clip to encode)."

    def __init__(self, media_id: str, *, connects: bool = True) -> None:
        self.id = media_id
        self.connects = connects
        self.outbound = _Track(media_id)
        self.on_packet: Callable[[Any, Any], None] | None = None
        self.on_failed: Callable[[Any], None] | None = None
        self.on_dtmf: Callable[[str], None] | None = None
        self.state = "new"
        self.inband_dtmf_detection = False
        self.candidates: list[str | None] = []
        self.codecs: tuple[str, ...] = ("opus",)
        "What `prefer_codecs` asked for; the fake party takes the first one."
        self.audio_codec: str | None = None
        self._close_listeners: list[Callable[[Any], None]] = []

    def __repr__(self) -> str:
        return f"<FakeMedia {self.id} {self.state}>"

    @property
    def hears(self) -> str:
        """What this party hears now: `ringback`, `music`, `silence` or `forward<media id>`."""
        return str(self.outbound.source)

    def _negotiated(self, sdp: str) -> None:
        if self.state == "closed":
            raise BadSdp("leg is closed")
        if sdp == BAD_SDP:
            self.state = "closed"  # like MediaLeg: a first offer that fails closes the leg
            raise BadSdp("unusable SDP")
        if self.connects:
            self.state = "connected"
        if self.audio_codec is None and self.codecs[0] != "opus":  # the party took G.711
            self.outbound.use_codec(self.codecs[0], g711_clips.loader(self.codecs[0]))
        self.audio_codec = self.codecs[0]

    async def create_offer(self) -> str:
        return f"offer:{self.id}"

    async def accept_offer(self, sdp: str) -> str:
        self._negotiated(sdp)
        return f"answer:{self.id}\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n"

    async def accept_answer(self, sdp: str) -> None:
        self._negotiated(sdp)

    async def add_ice_candidate(self, candidate: str | None, sdp_mid: str | None = None,
                                sdp_m_line_index: int | None = None) -> None:
        self.candidates.append(candidate)

    def set_inband_dtmf_detection(self, enabled: bool) -> None:
        self.inband_dtmf_detection = enabled

    def prefer_codecs(self, codecs: tuple[str, ...]) -> None:
        self.codecs = codecs

    def add_close_listener(self, listener: Callable[[Any], None]) -> None:
        self._close_listeners.append(listener)

    async def close(self) -> None:
        if self.state == "closed" and not self._close_listeners:
            return
        listeners, self._close_listeners = self._close_listeners, []
        for listener in listeners:
            listener(self)
        self.on_packet = None
        self.outbound.stop()
        self.state = "closed"

    # -- what the far side does (test controls) ----------------------------------------------

    def fail(self) -> None:
        """ICE/DTLS failed: the media reports it once, like `MediaLeg`."""
        self.state = "failed"
        if self.on_failed is not None:
            self.on_failed(self)

    def press(self, digit: str) -> None:
        """The party pressed a key (an RFC 4733 event arrived)."""
        assert self.on_dtmf is not None
        self.on_dtmf(digit)

    @property
    def digits_sent(self) -> str:
        """The digits the bridge sent to this party (as RFC 4733 events)."""
        return self.outbound.digits_sent


def make_board(*, originators: Mapping[RouteKind, Originator] | None = None,
               media: Callable[[str], FakeMedia] = FakeMedia, **options: Any) -> Switchboard:
    """A real switchboard whose legs get `FakeMedia`."""
    settings = {"max_calls": 20, "ring_timeout_s": 30.0, "reattach_grace_s": 0.0, "media_connect_timeout_s": 30.0,
                "idle_release_delay_s": 60.0, **options}
    return Switchboard(media_factory=media, originators=originators, **settings)


def frame(msg_type: str, **fields: Any) -> Frame:
    """A client frame, validated as the consumer would (so a test cannot send what a client can't)."""
    return parse_frame(json.dumps({"type": msg_type, **fields}))


class Phone:
    """A registered fake device and the requests its user makes, as the consumer relays them."""

    def __init__(self, board: Switchboard, device: FakeDevice) -> None:
        self.board, self.device = board, device

    @property
    def number(self) -> str:
        return self.device.number

    def leg(self, call_id: str) -> Leg:
        return self.board.legs[call_id]

    def media(self, call_id: str) -> FakeMedia:
        media = self.leg(call_id).media
        assert isinstance(media, FakeMedia)
        return media

    async def dial(self, destination: str, sdp: str = "offer:client", **options: Any) -> str:
        """Places a call; returns its `call_id` (from `call.trying`)."""
        before = len(self.device.frames)
        await self.board.create_call(self.device, frame("call.create", req_id="r1", destination=destination,
                                                        sdp=sdp, options=options))
        trying = [f for f in self.device.frames[before:] if f["type"] == "call.trying"]
        assert trying, self.device.frames[before:]
        return str(trying[0]["call_id"])

    async def request(self, msg_type: str, call_id: str, **fields: Any) -> None:
        """A request on one of its calls (answer, hangup, hold, transfer...)."""
        leg = self.board.leg_for(self.device, frame(msg_type, call_id=call_id, **fields))
        await self.board.handle(leg, frame(msg_type, call_id=call_id, **fields))

    def incoming(self) -> str:
        return str(self.device.last("call.incoming")["call_id"])

    def ended(self, call_id: str) -> str | None:
        reasons = [f["reason"] for f in self.device.frames if f["type"] == "call.ended" and f["call_id"] == call_id]
        assert len(reasons) <= 1, reasons
        return reasons[0] if reasons else None


async def until(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Waits for work the call layer spawned (a transfer's new call, a resume) to show."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
