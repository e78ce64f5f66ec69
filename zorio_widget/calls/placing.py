"""A device places a call: the caller's side, from its SDP offer to `call.trying` and the answer.

The caller's media answers the offer first, so an unusable offer leaves nothing behind (no call,
no record); then the call is opened (`CallSession.open`, its record written), admits the caller's
leg around that media and tells the caller. Originating the callee side is `CallSession.start`.
"""

import logging
import re
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from zorio_widget.calls import records
from zorio_widget.calls.device import Device
from zorio_widget.calls.legs import new_call_id
from zorio_widget.calls.limits import CallLimits, limits_of_tenant, read_limits
from zorio_widget.calls.recording import record_when_answered
from zorio_widget.calls.routing import Route, RouteKind, find_route
from zorio_widget.calls.session import Board, CallSession
from zorio_widget.media import BadSdp
from zorio_widget.protocol.messages import ProtocolError
from zorio_widget.tenants.models import Extension

logger = logging.getLogger(__name__)

TRUNK_SIDE_CODECS = ("pcmu", "pcma", "opus")
"""A number that is no extension, route or service may go out through a SIP trunk (its
originator, zorio_widget/trunks/, decides): the caller's browser then answers with G.711 if it
offers it, so the trunk's audio is relayed without transcoding (docs/MEDIA-NOTES.md)."""

_CANDIDATE_LINE = re.compile(r"^a=(candidate:.+)$", re.MULTILINE)
_MID_LINE = re.compile(r"^a=mid:(\S+)$", re.MULTILINE)


def candidates_in(sdp: str) -> list[dict[str, Any]]:
    """The ICE candidates of an SDP, as `ice.candidate` fields (the server gathers before answering)."""
    mid_match = _MID_LINE.search(sdp)
    mid = mid_match.group(1) if mid_match else "0"
    return [
        {"candidate": line.strip(), "sdp_mid": mid, "sdp_m_line_index": 0} for line in _CANDIDATE_LINE.findall(sdp)
    ]


@dataclass(frozen=True)
class Placement:
    """What a new call's set-up reads from the database: the tenant's limits, the route of the
    number and whether the caller records by default. Read in one trip to Channels' database
    thread (`read_placement`), which every call's set-up, answer and end of the process queue on."""

    limits: CallLimits
    route: Route
    records_by_default: bool


@database_sync_to_async
def read_placement(device: Device, destination: str) -> Placement:
    """Two queries: the route, and the caller's extension with its tenant's limits."""
    route = find_route(device.tenant_id, destination)
    caller = None
    if device.extension_id is not None:
        caller = (Extension.objects.select_related("tenant")
                  .only("recording_default", "tenant__max_live_calls", "tenant__max_calls_per_extension")
                  .filter(pk=device.extension_id).first())
    if caller is None:  # no extension (a trunk's caller), or one deleted since it connected
        return Placement(read_limits(device.tenant_id), route, records_by_default=False)
    return Placement(limits_of_tenant(caller.tenant), route, records_by_default=caller.recording_default)


async def place_call(board: Board, device: Device, placement: Placement, offer: str,
                     options: dict[str, Any], req_id: str | None) -> CallSession:
    """The call `device` placed as `placement` says (its slot is taken), ready to `start`; raises
    `bad_sdp` with nothing left behind."""
    route, limits = placement.route, placement.limits
    inband_dtmf = bool(options.get("inband_dtmf"))
    media = board.new_media(new_call_id())
    media.set_inband_dtmf_detection(inband_dtmf)
    if route.kind == RouteKind.UNKNOWN:
        media.prefer_codecs(TRUNK_SIDE_CODECS)
    try:
        try:
            answer = await media.accept_offer(offer)
        except BadSdp as exc:
            raise ProtocolError("bad_sdp", str(exc), req_id=req_id) from exc
        session = await CallSession.open(board, route, device, limits, **records.record_options(options))
    except BaseException:
        await media.close()
        raise
    caller = session.admit_caller(device, media, caller_name=str(options.get("caller_name") or "")[:120],
                                  inband_dtmf=inband_dtmf)
    board.expect_media(caller)
    wants_recording = options["recording"] if "recording" in options else placement.records_by_default
    if wants_recording:
        record_when_answered(session)
    logger.info("call %s: %s -> %s (%s)", session.uuid, device.number, route.number, route.kind)
    await caller.send("call.trying", req_id=req_id, uuid=str(session.uuid))
    await caller.send("sdp.answer", sdp=answer, req_id=req_id)
    for candidate in candidates_in(answer):
        await caller.send("ice.candidate", **candidate)
    return session
