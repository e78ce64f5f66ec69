"""``MediaLeg``: the server's peer connection for one browser leg of a call.

The leg owns one ``RTCPeerConnection`` with exactly one audio transceiver: received packets are
diverted by the aiortc tap (never decoded) to ``on_packet``; what the browser hears is the leg's
``OutboundAudio`` track, whose source the bridge switches. aiortc's connection state is an
input: the leg logs it, and a failure (ICE/DTLS) or a remote close ends the leg, sets
``closed`` and calls ``on_failed`` so the call owner can end the call.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any, Final

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from . import aiortc_hook
from .aiortc_hook import ReceivedPacket
from .dtmf import GoertzelDetector, InbandDtmfDecoder, TelephoneEventReceiver
from .lifecycle import LEG_STATES, LegLog, MediaLifecycle
from .native import routes as native_routes
from .outbound import OutboundAudio
from .rtp import clips as g711_clips
from .rtp import g711
from .sdputil import (
    AUDIO_CODECS,
    OPUS_MIME,
    OPUS_ONLY,
    BadSdp,
    add_opus_fmtp,
    add_public_candidates,
    first_audio_codec,
    parse_candidate,
    parse_offer_or_answer,
    restrict_audio_codecs,
    telephone_event_payload_types,
)

logger = logging.getLogger(__name__)

__all__ = ["LEG_STATES", "TELEPHONE_EVENT_SEND_RATES", "MediaLeg"]
TELEPHONE_EVENT_SEND_RATES: Final = (8000, 48000)
"""Clock rates we send RFC 4733 events on, preferred first: 8000 Hz is what Chrome itself sends
(docs/MEDIA-NOTES.md); 48000 Hz when that is all the remote accepted."""


class MediaLeg(MediaLifecycle):
    """One server-owned peer connection facing one browser (or aiortc client)."""

    def __init__(self, leg_id: str | None = None, *, public_address: str = "") -> None:
        """
        :param leg_id: id used in logs and by the bridge (the call layer passes its call id).
        :param public_address: IP advertised in addition to host candidates, for servers behind
            a 1:1 NAT; empty means host candidates only (docs/DESIGN.md §4b).
        """
        aiortc_hook.install()
        self.id = leg_id or uuid.uuid4().hex[:8]
        self.public_address = public_address
        self.log = LegLog(logger, {"leg": self.id})
        self._init_lifecycle()
        self.outbound = OutboundAudio(owner=self.id)
        "The one track the browser hears; the bridge switches its source."
        self.on_packet: Callable[[MediaLeg, ReceivedPacket], None] | None = None
        "Set by the bridge: each received Opus packet, on the event loop, before any decoding."
        self.packet_tap: Callable[[bytes, int], object] | None = None
        "Set by the bridge: its taps on this leg (recording...), which the native route calls too."
        self.on_dtmf: Callable[[str], None] | None = None
        "Digits received from the client (RFC 4733 events, and in-band tones when enabled)."
        self.on_failed: Callable[[MediaLeg], None] | None = None
        "Called once if ICE/DTLS fails or the peer closes the connection (not after ``close()``)."
        self.state = "new"
        "One of ``LEG_STATES``; ``on_state`` is called with each new one, ``closed`` set at the end."
        self.packets_received = 0
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc.on("connectionstatechange", self._on_connection_state)
        self._transceiver: RTCRtpTransceiver | None = None
        self._events = TelephoneEventReceiver()
        self._inband: InbandDtmfDecoder | None = None
        self._g711_detector: GoertzelDetector | None = None
        self._pending_candidates: list[tuple[str | None, str | None, int | None]] = []
        self._codecs: tuple[str, ...] = OPUS_ONLY
        self._failure_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<MediaLeg {self.id} {self.state}>"

    # -- negotiation ---------------------------------------------------------------------------

    def prefer_codecs(self, codecs: tuple[str, ...]) -> None:
        """The audio codecs this leg negotiates, preferred first (``opus``, ``pcmu``, ``pcma``);
        Opus alone by default. A leg whose other side is a SIP trunk prefers G.711, so the trunk's
        packets are relayed as they are (docs/MEDIA-NOTES.md). Only before the first negotiation."""
        unknown = [c for c in codecs if c not in AUDIO_CODECS]
        if not codecs or unknown:
            raise ValueError(f"codecs must be some of {AUDIO_CODECS}, not {codecs!r}")
        if self._transceiver is not None:
            raise BadSdp("leg already negotiated: its codec is fixed")
        self._codecs = tuple(codecs)

    @property
    def audio_codec(self) -> str | None:
        """The negotiated audio codec (``opus``, ``pcmu``, ``pcma``); ``None`` before negotiation."""
        return self.outbound.audio_codec if self._transceiver is not None else None

    async def accept_offer(self, sdp: str) -> str:
        """Answer a browser's offer; Opus is forced, telephone-event kept. Returns the answer SDP.

        Raises ``BadSdp`` for unusable SDP; a first offer that fails closes the leg (nothing left
        running). A later offer on a connected leg (renegotiation, e.g. direction changes) is
        answered on the same connection; if it fails the call is left as it was. aiortc cannot
        ICE-restart or change codec that way: after a network change use a new leg.
        """
        if self._closing:
            raise BadSdp("leg is closed")
        if self._transceiver is not None:
            return await self._accept_reoffer(sdp)
        try:
            parse_offer_or_answer(sdp, "offer", self._codecs)
            sdp = restrict_audio_codecs(sdp, self._codecs)
            self._use_codec(first_audio_codec(sdp))
            self._add_transceiver()
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            self._attach_receiver()
            await self._pc.setLocalDescription(await self._pc.createAnswer())
        except BadSdp as exc:
            await self._fail_negotiation(exc)
            raise
        except Exception as exc:  # aiortc: ValueError, OperationError, InvalidStateError
            await self._fail_negotiation(exc)
            raise BadSdp(f"offer rejected: {exc}") from exc
        await self._flush_candidates()
        return self._local_sdp()

    async def _accept_reoffer(self, sdp: str) -> str:
        if self._pc.signalingState != "stable":
            raise BadSdp(f"cannot take an offer in signalling state {self._pc.signalingState}")
        parse_offer_or_answer(sdp, "offer", self._codecs)
        sdp = restrict_audio_codecs(sdp, (self.outbound.audio_codec,))  # aiortc cannot change codec
        native_routes.disarm(self)  # payload types or directions may change: the Python path re-arms
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self._pc.setLocalDescription(await self._pc.createAnswer())
        except Exception as exc:
            self.log.warning("re-offer rejected: %s", exc)
            raise BadSdp(f"offer rejected: {exc}") from exc
        self.log.info("renegotiated")
        return self._local_sdp()

    async def create_offer(self) -> str:
        """Offer to a callee device (the first preferred codec + telephone-event). Returns the offer SDP."""
        self._check_fresh()
        self._add_transceiver()
        offer = await self._pc.createOffer()
        offer.sdp = restrict_audio_codecs(offer.sdp, self._codecs)
        self._use_codec(first_audio_codec(offer.sdp))
        await self._pc.setLocalDescription(offer)
        return self._local_sdp()

    async def accept_answer(self, sdp: str) -> None:
        """Apply the callee device's answer to ``create_offer()``; ``BadSdp`` closes the leg."""
        if self._transceiver is None or self._pc.signalingState != "have-local-offer":
            raise BadSdp("no offer is pending on this leg")
        try:
            parse_offer_or_answer(sdp, "answer", (self.outbound.audio_codec,))
            sdp = restrict_audio_codecs(sdp, (self.outbound.audio_codec,))
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            self._attach_receiver()
        except BadSdp as exc:
            await self._fail_negotiation(exc)
            raise
        except Exception as exc:
            await self._fail_negotiation(exc)
            raise BadSdp(f"answer rejected: {exc}") from exc
        await self._flush_candidates()

    async def add_ice_candidate(
        self, candidate: str | None, sdp_mid: str | None = None, sdp_m_line_index: int | None = None
    ) -> None:
        """Add a trickled browser candidate; ``None`` or ``""`` means end of candidates.

        Candidates arriving before the remote description are kept and applied after it.
        """
        if self._closing:
            return
        if candidate and sdp_mid is None and sdp_m_line_index is None:
            raise BadSdp("ICE candidate needs sdp_mid or sdp_m_line_index")
        if candidate:
            parsed = parse_candidate(candidate)  # checked now, also when it must wait below
        if self._pc.remoteDescription is None:
            self._pending_candidates.append((candidate, sdp_mid, sdp_m_line_index))
            return
        if not candidate:
            await self._pc.addIceCandidate(None)
            return
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_m_line_index
        try:
            await self._pc.addIceCandidate(parsed)
        except ValueError as exc:
            raise BadSdp(f"ICE candidate rejected: {exc}") from exc

    # -- DTMF sending ----------------------------------------------------------------------------

    @property
    def telephone_event(self) -> tuple[int, int] | None:
        """``(payload type, clock rate)`` for RFC 4733 events to this leg's client, or ``None``
        when its remote did not negotiate ``telephone-event`` (then DTMF goes in-band).

        The codecs aiortc started the sender with, once it has; before that, the remote
        description (whose payload types are the negotiated ones, offer or answer).
        """
        if self._transceiver is None or self._closing:
            return None
        codecs = aiortc_hook.sender_codecs(self._transceiver.sender)
        found: dict[int, int]
        if codecs is not None:
            found = {
                c.clockRate: c.payloadType
                for c in reversed(codecs)
                if c.mimeType.lower() == aiortc_hook.TELEPHONE_EVENT_MIME and c.payloadType is not None
            }
        elif self._pc.remoteDescription is not None:
            found = telephone_event_payload_types(self._pc.remoteDescription.sdp)
        else:
            return None
        for rate in TELEPHONE_EVENT_SEND_RATES:
            if rate in found:
                return found[rate], rate
        return None

    @property
    def telephone_event_payload_type(self) -> int | None:
        """The payload type RFC 4733 events are sent with; ``None``: DTMF goes in-band."""
        negotiated = self.telephone_event
        return negotiated[0] if negotiated else None

    # -- in-band DTMF detection ----------------------------------------------------------------

    @property
    def inband_dtmf_detection(self) -> bool:
        return self._inband is not None

    def set_inband_dtmf_detection(self, enabled: bool) -> None:
        """Decode this leg's audio and detect dual tones (costs a decoder; off by default)."""
        if enabled and self._inband is None:
            self._inband = InbandDtmfDecoder(self._deliver_dtmf, name=self.id)
        elif not enabled and self._inband is not None:
            self._inband.close()
            self._inband = None

    # -- teardown ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Free the peer connection, its tasks, thread and UDP ports. Idempotent."""
        if not await self._begin_close():
            return
        self.on_packet = None
        self.set_inband_dtmf_detection(False)
        native_routes.disarm(self)
        if self._transceiver is not None:
            aiortc_hook.set_packet_sink(self._transceiver.receiver, None)
        self.outbound.stop()
        await self._pc.close()
        self._set_state("closed")
        self.closed.set()

    @property
    def receiver(self) -> Any:
        """The ``RTCRtpReceiver`` of the leg's one audio transceiver (``None`` before negotiation)."""
        return self._transceiver.receiver if self._transceiver is not None else None

    # -- internals -----------------------------------------------------------------------------

    def _check_fresh(self) -> None:
        if self._closing:
            raise BadSdp("leg is closed")
        if self._transceiver is not None:
            raise BadSdp("leg already negotiated (renegotiation needs a new leg)")

    def _use_codec(self, codec: str) -> None:
        """What the leg sends from now on: its outbound track plays that codec's clips."""
        if codec != "opus":
            self.outbound.use_codec(codec, g711_clips.loader(codec))
        self.log.info("audio codec %s", codec)

    def _add_transceiver(self) -> None:
        self._transceiver = self._pc.addTransceiver(self.outbound, direction="sendrecv")

    def _attach_receiver(self) -> None:
        assert self._transceiver is not None
        aiortc_hook.set_packet_sink(self._transceiver.receiver, self._on_received)

    def _local_sdp(self) -> str:
        sdp = add_opus_fmtp(self._pc.localDescription.sdp)
        return add_public_candidates(sdp, self.public_address)

    async def _fail_negotiation(self, exc: BaseException) -> None:
        self.log.warning("negotiation failed: %s", exc)
        await self.close()

    async def _flush_candidates(self) -> None:
        pending, self._pending_candidates = self._pending_candidates, []
        for candidate, mid, index in pending:
            try:
                await self.add_ice_candidate(candidate, mid, index)
            except BadSdp as exc:
                self.log.warning("dropped early ICE candidate: %s", exc)

    def _on_received(self, packet: ReceivedPacket) -> None:
        self.packets_received += 1
        if packet.is_telephone_event:
            for digit in self._events.feed(packet.payload, packet.timestamp):
                self._deliver_dtmf(digit)
            return
        if self._inband is not None:
            if packet.mime_type == OPUS_MIME:
                self._inband.feed(packet.payload)
            else:  # G.711: decoding is a table lookup, done here
                self._feed_g711_detector(packet)
        if self.on_packet is not None:
            self.on_packet(self, packet)

    def _feed_g711_detector(self, packet: ReceivedPacket) -> None:
        if self._g711_detector is None:
            self._g711_detector = GoertzelDetector(g711.SAMPLE_RATE_HZ)
        for digit in self._g711_detector.feed(g711.decode(packet.mime_type.removeprefix("audio/"), packet.payload)):
            self._deliver_dtmf(digit)

    def _deliver_dtmf(self, digit: str) -> None:
        self.log.info("DTMF received: %s", digit)
        if self.on_dtmf is not None:
            self.on_dtmf(digit)

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if self._closing:
            return
        self._set_state(state)
        if state in ("failed", "closed"):
            # aiortc closes the connection itself when the peer's DTLS closes; both mean the
            # media path is gone and the call owner must end the call.
            if self._failure_task is None:
                self._failure_task = asyncio.ensure_future(self._end_after_failure())

    async def _end_after_failure(self) -> None:
        if self._closing:
            return
        callback = self.on_failed
        await self.close()
        if callback is not None:
            callback(self)
