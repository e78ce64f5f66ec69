"""A scenario's own leg: an `Endpoint` with no browser, and a `MediaPort` whose media is the bridge's.

A scenario takes part in its calls the way a device does: the call layer gives it a leg (the
callee of the call that dialled its route, or the caller of a call it places) and drives that leg
through the two interfaces of `calls/legs.py`. Its endpoint turns the server messages about those
legs (`call.answered`, `call.dtmf_received`, `call.ended`...) into events of the scenario's `Call`s
(`ScenarioRun.on_frame`), never running scenario code inline (the session holds its lock while it
sends). Its media sends no packets and needs no SDP: what the scenario says reaches the party as a
playback the bridge pulls into the party's own track (`Bridge.play(..., speaker=...)`, so a
recording taps the prompts as the scenario's side), and what the party sends reaches the scenario
through the bridge's taps. Its outbound track (`ScenarioEar`) is never sent anywhere: it keeps
nothing that is pushed or queued to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from zorio_widget.media import BadSdp, OutboundAudio, ReceivedPacket
from zorio_widget.media.dtmf import EventPacket

logger = logging.getLogger(__name__)

TELEPHONE_EVENT = (101, 8000)
"""Digits relayed to a scenario's leg are taken as RFC 4733 events (and dropped by its ear): the
scenario hears of them through `call.dtmf_received`, without any tone being encoded."""


class ScenarioEar(OutboundAudio):
    """The outbound track of a scenario's leg: nothing sends it, so it keeps nothing."""

    def push(self, origin: str, ssrc: int, timestamp: int, payload: bytes) -> bool:
        return False

    def play_once(self, packets: Iterable[bytes]) -> None:
        return None

    def play_events(self, packets: Iterable[EventPacket], payload_type: int) -> None:
        return None


class FrameSink(Protocol):
    def on_frame(self, frame: dict[str, Any]) -> None: ...


class ScenarioEndpoint:
    """The scenario as a party: the route's number and name; its messages go to its run."""

    def __init__(self, tenant_id: int, number: str, name: str, sink: FrameSink) -> None:
        self._tenant_id = tenant_id
        self._number = number
        self._name = name
        self._sink = sink

    def __repr__(self) -> str:
        return f"<ScenarioEndpoint {self._number}>"

    @property
    def tenant_id(self) -> int:
        return self._tenant_id

    @property
    def extension_id(self) -> int | None:
        return None

    @property
    def number(self) -> str:
        return self._number

    @property
    def name(self) -> str:
        return self._name

    async def send_frame(self, frame: dict[str, Any]) -> None:
        self._sink.on_frame(frame)


class ScenarioMedia:
    """A `MediaPort` for a scenario's leg: connected from the start, no SDP, no packets of its own."""

    telephone_event: tuple[int, int] | None = TELEPHONE_EVENT
    audio_codec: str | None = None

    def __init__(self, media_id: str) -> None:
        self.id = media_id
        self.outbound = ScenarioEar(owner=media_id)
        self.on_packet: Callable[[Any, ReceivedPacket], None] | None = None
        self.on_failed: Callable[[Any], None] | None = None
        self.on_dtmf: Callable[[str], None] | None = None
        self.state = "connected"
        self._close_listeners: list[Callable[[Any], None]] = []

    def __repr__(self) -> str:
        return f"<ScenarioMedia {self.id} {self.state}>"

    async def create_offer(self) -> str:
        raise BadSdp("a scenario's leg has no SDP")

    async def accept_offer(self, sdp: str) -> str:
        raise BadSdp("a scenario's leg has no SDP")

    async def accept_answer(self, sdp: str) -> None:
        raise BadSdp("a scenario's leg has no SDP")

    async def add_ice_candidate(self, candidate: str | None, sdp_mid: str | None = None,
                                sdp_m_line_index: int | None = None) -> None:
        return None

    def set_inband_dtmf_detection(self, enabled: bool) -> None:
        return None

    def prefer_codecs(self, codecs: tuple[str, ...]) -> None:
        return None

    def add_close_listener(self, listener: Callable[[Any], None]) -> None:
        if listener not in self._close_listeners:
            self._close_listeners.append(listener)

    async def close(self) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        listeners, self._close_listeners = self._close_listeners, []
        for listener in listeners:
            try:
                listener(self)
            except Exception:
                logger.exception("[leg %s] close listener failed", self.id)
        self.on_packet = None
        self.outbound.stop()
