"""The two halves of a leg, as the call layer drives them: its endpoint and its media.

A leg (`session.Leg`) is one party's side of a call. Its *endpoint* is where that party's messages
go and who the party is: a browser device over the WebSocket today (`device.Device`, implemented
by the signalling consumer), a SIP dialog on a trunk or a scenario run by the server next. Its
*media* carries the party's audio: an aiortc peer connection today (`MediaLeg`), an RTP session
next. The session drives every leg through these two interfaces only, so a new kind of leg is a
new implementation of them (and an originator for its target kind, `targets.py`), not a change
of the session. Both are structural: the media floor never imports this module, and
`Switchboard(media_factory=...)` is where mypy checks that `MediaLeg` is a `MediaPort`.
"""

import secrets
from collections.abc import Callable
from typing import Any, Literal, Protocol

from zorio_widget.media import BridgedMedia

LegDirection = Literal["outgoing", "incoming"]
"""A leg's side of its call: the party that placed it (`outgoing`) or one it rang (`incoming`)."""


def new_call_id() -> str:
    """A leg's `call_id`: what its party names it by, also its media's bridge id."""
    return "c" + secrets.token_hex(8)


class Endpoint(Protocol):
    """One party of a call: who it is (the record's from/to) and where its messages go."""

    @property
    def tenant_id(self) -> int: ...

    @property
    def extension_id(self) -> int | None:
        """The party's extension; None for a party that is not one (a trunk's caller)."""

    @property
    def number(self) -> str: ...

    @property
    def name(self) -> str: ...

    async def send_frame(self, frame: dict[str, Any]) -> None:
        """Delivers one server message about a leg (a `SERVER_MESSAGES` type of the protocol
        floor): a browser sends it as a frame, another kind maps it to its own signalling. Must
        not raise when the endpoint is already gone."""


class MediaPort(BridgedMedia, Protocol):
    """A leg's media: negotiated, watched and closed by the session, routed by the bridge
    (`BridgedMedia`: an id, the outbound track, received packets)."""

    @property
    def state(self) -> str:
        """`new`, `connecting`, `connected`, `failed` or `closed`."""

    #: Called once when the media fails or the far side closes it (never after `close()`).
    on_failed: Callable[[Any], None] | None
    #: Each digit received from the party (RFC 4733 events, in-band tones when enabled).
    on_dtmf: Callable[[str], None] | None

    async def create_offer(self) -> str:
        """The offer for a callee's side; raises `BadSdp`."""

    async def accept_offer(self, sdp: str) -> str:
        """Answers the party's offer (a first one, or a renegotiation); raises `BadSdp`."""

    async def accept_answer(self, sdp: str) -> None:
        """Applies the party's answer to `create_offer()`; raises `BadSdp`."""

    async def add_ice_candidate(self, candidate: str | None, sdp_mid: str | None = None,
                                sdp_m_line_index: int | None = None) -> None:
        """A trickled candidate of the party (None: no more); raises `BadSdp`."""

    def set_inband_dtmf_detection(self, enabled: bool) -> None: ...

    @property
    def audio_codec(self) -> str | None:
        """The negotiated audio codec (`opus`, `pcmu`, `pcma`); None before negotiation."""

    def prefer_codecs(self, codecs: tuple[str, ...]) -> None:
        """The audio codecs to negotiate, preferred first (before the first offer or answer):
        a leg talking to a trunk takes G.711 when its party offers it, so packets are relayed
        as they are instead of transcoded. Raises `ValueError` for codecs it cannot do."""

    async def close(self) -> None:
        """Frees everything the media holds; idempotent."""


MediaFactory = Callable[[str], MediaPort]
"""Makes the media of a new leg, or a party's replacement media, from its bridge id."""
