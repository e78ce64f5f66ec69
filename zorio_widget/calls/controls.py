"""Requests on a leg of a call: answer, hang up, reject, hold, mute, DTMF, renegotiation.

Each runs under the session's lock (`CallSession.run`), checks the state first and raises
`ProtocolError` before changing anything, so a refused request leaves the call as it was; the
change itself is the session's (or, for who hears what, the bridge's). The server is
authoritative: a muted leg's audio is not relayed even if its client keeps sending, and hold is
a server flag (no SDP re-offer, so no offer glare). Transfers are in `transfer.py`; the table of
every request is `switchboard.REQUESTS`.
"""

import re

from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.media import BadSdp
from zorio_widget.protocol.messages import Frame, ProtocolError

DTMF_RE = re.compile(r"[0-9*#A-Da-d]+")
REJECT_REASONS = {486: "busy", 603: "rejected"}


def _refuse(leg: Leg, frame: Frame, message: str = "", code: str = "invalid_state") -> ProtocolError:
    return ProtocolError(code, message, req_id=frame.req_id, call_id=leg.call_id)


def connected_peer(session: CallSession, leg: Leg, frame: Frame) -> Leg:
    """The other party of a connected call, or `invalid_state`."""
    peer = session.peer_of(leg)
    if session.state != CallState.ANSWERED or peer is None:
        raise _refuse(leg, frame, "The call is not connected to another party.")
    return peer


async def answer(session: CallSession, leg: Leg, frame: Frame) -> None:
    """A ringing callee answers with its SDP answer: it becomes the callee, the others stop."""
    if leg.direction != "incoming":
        raise _refuse(leg, frame, code="not_incoming")
    if leg.call_id not in session.ringing or session.state != CallState.RINGING:
        raise _refuse(leg, frame, "The call is no longer ringing.")
    try:
        await leg.media.accept_answer(frame.data["sdp"])
    except BadSdp as exc:
        raise _refuse(leg, frame, str(exc), code="bad_sdp") from exc
    await session.answered_by(leg)


async def hangup(session: CallSession, leg: Leg, frame: Frame) -> None:
    """A rejection while the leg rings; else the end of the call, answered or not."""
    if leg.call_id in session.ringing:
        await session.end("rejected")
    elif session.state == CallState.ANSWERED:
        await session.end("hangup")
    else:
        await session.end("cancelled")


async def reject(session: CallSession, leg: Leg, frame: Frame) -> None:
    if leg.direction != "incoming" or leg.call_id not in session.ringing:
        raise _refuse(leg, frame, code="not_incoming")
    code = frame.data.get("code")
    reason = REJECT_REASONS.get(603 if code is None else code)
    if reason is None:
        raise _refuse(leg, frame, "'code' must be 486 or 603.", code="bad_request")
    await session.end(reason)


async def put_on_hold(session: CallSession, holder: Leg) -> None:
    """`holder` puts its connected peer on hold: the peer hears music; both are told."""
    peer = session.peer_of(holder)
    assert peer is not None
    session.bridge.hold(holder.media)
    await holder.send("call.held", by="local")
    await peer.send("call.held", by="remote")


async def take_off_hold(session: CallSession, holder: Leg) -> None:
    peer = session.peer_of(holder)
    assert peer is not None
    session.bridge.unhold(holder.media)
    await holder.send("call.resumed", by="local")
    await peer.send("call.resumed", by="remote")


async def hold(session: CallSession, leg: Leg, frame: Frame) -> None:
    connected_peer(session, leg, frame)
    if leg.held:
        raise _refuse(leg, frame, "The call is already on hold.")
    await put_on_hold(session, leg)


async def unhold(session: CallSession, leg: Leg, frame: Frame) -> None:
    connected_peer(session, leg, frame)
    if not leg.held:
        raise _refuse(leg, frame, "The call is not on hold.")
    await take_off_hold(session, leg)


async def mute(session: CallSession, leg: Leg, frame: Frame) -> None:
    if leg.muted:
        raise _refuse(leg, frame, "The call is already muted.")
    session.bridge.mute(leg.media)
    await leg.send("call.muted")


async def unmute(session: CallSession, leg: Leg, frame: Frame) -> None:
    if not leg.muted:
        raise _refuse(leg, frame, "The call is not muted.")
    session.bridge.unmute(leg.media)
    await leg.send("call.unmuted")


async def dtmf(session: CallSession, leg: Leg, frame: Frame) -> None:
    digits = frame.data["digits"]
    if not DTMF_RE.fullmatch(digits):
        raise _refuse(leg, frame, "DTMF digits must be 0-9, *, #, A-D.", code="invalid_dtmf")
    if session.state != CallState.ANSWERED:
        raise _refuse(leg, frame, "DTMF needs a connected call.")
    await session.relay_digits(leg, digits.upper())


async def ice_candidate(leg: Leg, frame: Frame) -> None:
    """A candidate the party trickled (`ice.candidate`), or its end (`ice.done`), for the leg's
    current media; not under the call's lock (it changes nothing of the call)."""
    data = frame.data if frame.type == "ice.candidate" else {}
    try:
        await leg.media.add_ice_candidate(data.get("candidate"), data.get("sdp_mid"), data.get("sdp_m_line_index"))
    except BadSdp as exc:
        raise ProtocolError("bad_sdp", str(exc), call_id=leg.call_id) from exc


async def sdp_answer(session: CallSession, leg: Leg, frame: Frame) -> None:
    """The client's answer to a server `sdp.offer` (the consult leg of an attended transfer)."""
    try:
        await leg.media.accept_answer(frame.data["sdp"])
    except BadSdp as exc:
        raise _refuse(leg, frame, str(exc), code="bad_sdp") from exc


async def sdp_offer(session: CallSession, leg: Leg, frame: Frame) -> None:
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
    try:
        answer_sdp = await session.replace_media(leg, frame.data["sdp"])
    except BadSdp as exc:
        raise _refuse(leg, frame, str(exc), code="bad_sdp") from exc
    await leg.send("sdp.answer", sdp=answer_sdp, req_id=frame.req_id)


_DIRECTION_RE = re.compile(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", re.MULTILINE)


def offered_direction(sdp: str) -> str:
    """The direction of the (first) audio section of an offer; SDP's default is sendrecv."""
    audio = sdp.split("m=audio", 1)[1] if "m=audio" in sdp else sdp
    audio = audio.split("\nm=", 1)[0]
    match = _DIRECTION_RE.search(audio)
    return match.group(1) if match else "sendrecv"


async def _reoffer(session: CallSession, leg: Leg, frame: Frame) -> None:
    sdp = frame.data["sdp"]
    wants_hold = offered_direction(sdp) in ("sendonly", "inactive")
    if wants_hold != leg.held:
        connected_peer(session, leg, frame)  # hold/resume needs a connected call
    try:
        answer_sdp = await leg.media.accept_offer(sdp)
    except BadSdp as exc:
        raise _refuse(leg, frame, str(exc), code="bad_sdp") from exc
    await leg.send("sdp.answer", sdp=answer_sdp, req_id=frame.req_id)
    if wants_hold and not leg.held:
        await hold(session, leg, frame)
    elif not wants_hold and leg.held:
        await unhold(session, leg, frame)
