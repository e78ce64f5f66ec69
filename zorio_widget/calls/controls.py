"""In-call controls of a connected call: hold, mute, DTMF (DESIGN.md §4).

Each control runs under the session's lock (`CallSession.control`), checks the state first and
raises `ProtocolError` before changing anything, so a refused request leaves the call as it was.
The server is authoritative: a muted leg's audio is not relayed even if its client keeps
sending, and hold is a server flag (no SDP re-offer, so no offer glare).
"""

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from zorio_widget.calls import transfer
from zorio_widget.calls.states import CallState
from zorio_widget.media import BadSdp
from zorio_widget.signalling.protocol import Frame, ProtocolError

if TYPE_CHECKING:
    from zorio_widget.calls.session import CallSession, Leg

DTMF_RE = re.compile(r"[0-9*#A-Da-d]+")

Control = Callable[["CallSession", "Leg", Frame], Awaitable[None]]


def _refuse(leg: "Leg", frame: Frame, message: str, code: str = "invalid_state") -> ProtocolError:
    return ProtocolError(code, message, req_id=frame.req_id, call_id=leg.call_id)


async def hold(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    peer = transfer.connected_peer(session, leg, frame)
    if leg.held:
        raise _refuse(leg, frame, "The call is already on hold.")
    session.bridge.hold(leg.media)
    await leg.send("call.held", by="local")
    await peer.send("call.held", by="remote")


async def unhold(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    peer = transfer.connected_peer(session, leg, frame)
    if not leg.held:
        raise _refuse(leg, frame, "The call is not on hold.")
    session.bridge.unhold(leg.media)
    await leg.send("call.resumed", by="local")
    await peer.send("call.resumed", by="remote")


async def mute(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    if leg.muted:
        raise _refuse(leg, frame, "The call is already muted.")
    session.bridge.mute(leg.media)
    await leg.send("call.muted")


async def unmute(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    if not leg.muted:
        raise _refuse(leg, frame, "The call is not muted.")
    session.bridge.unmute(leg.media)
    await leg.send("call.unmuted")


async def dtmf(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    digits = frame.data["digits"]
    if not DTMF_RE.fullmatch(digits):
        raise _refuse(leg, frame, "DTMF digits must be 0-9, *, #, A-D.", code="invalid_dtmf")
    if session.state != CallState.ANSWERED:
        raise _refuse(leg, frame, "DTMF needs a connected call.")
    await session.relay_digits(leg, digits.upper())


async def sdp_answer(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    """The client's answer to a server `sdp.offer` (the consult leg of an attended transfer)."""
    try:
        await leg.media.accept_answer(frame.data["sdp"])
    except BadSdp as exc:
        raise _refuse(leg, frame, str(exc), code="bad_sdp") from exc


async def sdp_offer(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    """A client offer for a live call: a re-offer on the same connection, or (`replace: true`) a
    fresh peer connection that replaces the leg's media.

    aiortc cannot ICE-restart (it answers with the old credentials), so after a network change
    the client builds a new RTCPeerConnection and the bridge swaps it in without ending the call.
    A re-offer is answered on the leg's connection; its direction is read as hold (`sendonly`,
    `inactive`) or resume (`sendrecv`, `recvonly`), applied as if `call.hold`/`call.unhold` came.
    """
    if not session.is_live:
        raise _refuse(leg, frame, "The call is over.")
    if not frame.data.get("replace"):
        await _reoffer(session, leg, frame)
        return
    media = session.board.new_media(leg)
    try:
        answer = await media.accept_offer(frame.data["sdp"])
    except BadSdp as exc:
        raise _refuse(leg, frame, str(exc), code="bad_sdp") from exc
    old, leg.media = leg.media, media
    session.board.wire_media(leg)
    session.board.expect_media(leg)
    session.bridge.replace(old, media)  # the party keeps its peer, mute and hold
    media.set_inband_dtmf_detection(bool(leg.extra.get("inband_dtmf")))
    await old.close()
    await leg.send("sdp.answer", sdp=answer, req_id=frame.req_id)


_DIRECTION_RE = re.compile(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", re.MULTILINE)


def offered_direction(sdp: str) -> str:
    """The direction of the (first) audio section of an offer; SDP's default is sendrecv."""
    audio = sdp.split("m=audio", 1)[1] if "m=audio" in sdp else sdp
    audio = audio.split("\nm=", 1)[0]
    match = _DIRECTION_RE.search(audio)
    return match.group(1) if match else "sendrecv"


async def _reoffer(session: "CallSession", leg: "Leg", frame: Frame) -> None:
    sdp = frame.data["sdp"]
    wants_hold = offered_direction(sdp) in ("sendonly", "inactive")
    if wants_hold != leg.held:
        transfer.connected_peer(session, leg, frame)  # hold/resume needs a connected call
    try:
        answer = await leg.media.accept_offer(sdp)
    except BadSdp as exc:
        raise _refuse(leg, frame, str(exc), code="bad_sdp") from exc
    await leg.send("sdp.answer", sdp=answer, req_id=frame.req_id)
    if wants_hold and not leg.held:
        await hold(session, leg, frame)
    elif not wants_hold and leg.held:
        await unhold(session, leg, frame)


CONTROLS: dict[str, Control] = {
    "call.hold": hold,
    "call.unhold": unhold,
    "call.mute": mute,
    "call.unmute": unmute,
    "call.dtmf": dtmf,
    "call.transfer": transfer.blind_transfer,
    "call.attended_transfer": transfer.attended_transfer,
    "call.complete_transfer": transfer.complete_transfer,
    "sdp.answer": sdp_answer,
    "sdp.offer": sdp_offer,
}
