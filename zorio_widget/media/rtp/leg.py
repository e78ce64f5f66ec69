"""``RtpLeg``: a trunk leg's ``RtpSession`` seen as a leg's media by the call layer and the bridge.

The SIP call (``zorio_widget.sip.SipCall``) negotiates its session itself, from the SDP of its
INVITEs and responses; the call layer drives every leg's media through one interface (a
``MediaPort``: asynchronous offer/answer, ICE candidates, in-band DTMF detection, ``on_failed``,
``on_dtmf``, ``close``) and the bridge routes it as any ``BridgedMedia``. This wrapper is that
interface over the session, so the call layer needs to know nothing of RTP:

- offer/answer go to the session (``create_offer`` is the offer a SIP call sends); there is no
  ICE, so candidates are ignored (a trunk leg has none to take);
- ``state`` is ``connected`` from the first negotiation on (plain RTP has no handshake to wait
  for): the session's own media timeout (``on_failed``) is what says the far end is gone;
- digits reach ``on_dtmf`` from RFC 4733 events of the session and from the SIP call's INFO
  requests alike (``deliver_digit``); in-band tones are detected on the decoded G.711 when the
  call asks for it (``set_inband_dtmf_detection``);
- received packets reach ``on_packet`` as ``(this leg, packet)``, as the bridge expects; once a
  pair relays plainly the native route takes them in C (``native.routes``), with the bridge's
  taps (``packet_tap``), and hands back to this path at any change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from ..aiortc_hook import ReceivedPacket
from ..dtmf import GoertzelDetector
from ..sdputil import BadSdp
from . import g711
from .sender import RtpOutbound
from .session import RtpSession


class RtpLeg:
    """The media of one trunk leg (a ``MediaPort`` and a ``BridgedMedia``)."""

    def __init__(self, session: RtpSession, leg_id: str | None = None) -> None:
        self.session = session
        self.id = leg_id or "c" + secrets.token_hex(8)
        self.on_failed: Callable[[Any], None] | None = None
        self.on_dtmf: Callable[[str], None] | None = None
        self._on_packet: Callable[[Any, ReceivedPacket], None] | None = None
        self._inband: GoertzelDetector | None = None
        self._close_listeners: list[Callable[[Any], None]] = []
        session.on_failed = self._failed
        session.add_close_listener(self._session_closing)

    def __repr__(self) -> str:
        return f"<RtpLeg {self.id} {self.session!r}>"

    # -- what the bridge uses ------------------------------------------------------------------

    @property
    def outbound(self) -> RtpOutbound:
        return self.session.outbound

    @property
    def telephone_event(self) -> tuple[int, int] | None:
        return self.session.telephone_event

    @property
    def audio_codec(self) -> str | None:
        """The negotiated law (``pcmu``/``pcma``); ``None`` before negotiation."""
        return self.session.codec.name if self.session.codec is not None else None

    @property
    def on_packet(self) -> Callable[[Any, ReceivedPacket], None] | None:
        return self._on_packet

    @on_packet.setter
    def on_packet(self, callback: Callable[[Any, ReceivedPacket], None] | None) -> None:
        self._on_packet = callback
        self._wire_packets()

    @property
    def packet_tap(self) -> Callable[[bytes, int], object] | None:
        """Set by the bridge: its taps on this leg (recording...), which the native route calls
        too (kept in the session's ``SessionState``, where the route checks it before each packet)."""
        return self.session.shared.packet_tap

    @packet_tap.setter
    def packet_tap(self, tap: Callable[[bytes, int], object] | None) -> None:
        self.session.shared.packet_tap = tap

    def _wire_packets(self) -> None:
        callback = self._on_packet
        if callback is None and self._inband is None:
            self.session.on_packet = None
        elif self._inband is None and callback is not None:
            self.session.on_packet = lambda _session, packet: callback(self, packet)
        else:
            self.session.on_packet = self._received

    def _received(self, _session: RtpSession, packet: ReceivedPacket) -> None:
        if self._inband is not None:
            law = packet.mime_type.removeprefix("audio/")
            for digit in self._inband.feed(g711.decode(law, packet.payload)):
                self.deliver_digit(digit)
        if self._on_packet is not None:
            self._on_packet(self, packet)

    def add_close_listener(self, listener: Callable[[Any], None]) -> None:
        if listener not in self._close_listeners:
            self._close_listeners.append(listener)

    # -- what the call layer uses ----------------------------------------------------------------

    @property
    def state(self) -> str:
        state = self.session.state
        return "connected" if state == "connecting" else state

    def prefer_codecs(self, codecs: tuple[str, ...]) -> None:
        """The trunk's laws are what its SDP negotiated: nothing to prefer once it has."""
        if not any(c in ("pcmu", "pcma") for c in codecs):
            raise ValueError(f"a trunk leg speaks G.711 only, not {codecs!r}")

    async def create_offer(self) -> str:
        return self.session.create_offer()

    async def accept_offer(self, sdp: str) -> str:
        return self.session.accept_offer(sdp)

    async def accept_answer(self, sdp: str) -> None:
        self.session.accept_answer(sdp)

    async def add_ice_candidate(self, candidate: str | None, sdp_mid: str | None = None,
                                sdp_m_line_index: int | None = None) -> None:
        """Plain RTP has no ICE: a candidate for a trunk leg is refused."""
        if candidate:
            raise BadSdp("a trunk leg takes no ICE candidates")

    def set_inband_dtmf_detection(self, enabled: bool) -> None:
        """Detect dual tones in the far end's audio (decodes every G.711 payload; off by default)."""
        if enabled and self._inband is None:
            self._inband = GoertzelDetector(g711.SAMPLE_RATE_HZ)
        elif not enabled:
            self._inband = None
        self._wire_packets()

    @property
    def inband_dtmf_detection(self) -> bool:
        return self._inband is not None

    def deliver_digit(self, digit: str) -> None:
        """A digit of the far end (an RFC 4733 event, a SIP INFO, an in-band tone)."""
        if self.on_dtmf is not None:
            self.on_dtmf(digit)

    async def close(self) -> None:
        await self.session.close()

    # -- internals -----------------------------------------------------------------------------

    def _failed(self, _session: RtpSession) -> None:
        if self.on_failed is not None:
            self.on_failed(self)

    def _session_closing(self, _session: RtpSession) -> None:
        listeners, self._close_listeners = self._close_listeners, []
        for listener in listeners:
            listener(self)
