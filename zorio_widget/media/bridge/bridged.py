"""What the bridge needs of a leg's media, as two protocols a leg of any kind implements.

``MediaLeg`` (aiortc, a browser), ``rtp.RtpLeg`` (a trunk) and a scenario's leg are bridged by
being a ``BridgedMedia``; their outbound track by being an ``OutboundTrack``. The bridge reaches a
leg only through these, so a new kind of leg is an addition, not a change to the bridge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..aiortc_hook import ReceivedPacket
from ..dtmf import EventPacket
from ..leg import MediaLeg
from ..rtp.leg import RtpLeg
from ..timeline import Source

NATIVE_LEGS = (MediaLeg, RtpLeg)
"""The legs the native relay knows (``native.routes``): a browser's and a trunk's. They carry the
bridge's taps as ``packet_tap`` (the route calls them), a route is armed from one to another once
a packet relayed plainly, and disarmed when a second leg listens to its origin."""


class OutboundTrack(Protocol):
    """What the bridge switches and feeds of a leg's outbound audio: ``outbound.OutboundAudio`` (a
    browser leg) or ``rtp.RtpOutbound`` (a trunk leg). ``audio_codec`` says what payloads it takes."""

    @property
    def source(self) -> Source: ...

    @property
    def audio_codec(self) -> str: ...

    def set_source(self, source: Source) -> None: ...

    def push(self, origin: str, ssrc: int, timestamp: int, payload: bytes) -> bool: ...

    def play_events(self, packets: Iterable[EventPacket], payload_type: int) -> None: ...

    def play_once(self, payloads: Iterable[bytes]) -> None: ...

    def play_pull(self, source: Source, pull: Callable[[], bytes | None]) -> None: ...


class BridgedMedia(Protocol):
    """What the bridge needs of a leg's media: an id, the one outbound track it switches, a hook
    for received packets, the negotiated telephone-event and a close notification. ``MediaLeg``
    (aiortc) is one; a leg of another kind (an RTP session, a scenario's) is bridged by being one too."""

    @property
    def id(self) -> str: ...

    @property
    def outbound(self) -> OutboundTrack: ...

    on_packet: Callable[[Any, ReceivedPacket], None] | None

    @property
    def telephone_event(self) -> tuple[int, int] | None: ...

    def add_close_listener(self, listener: Callable[[Any], None]) -> None: ...
