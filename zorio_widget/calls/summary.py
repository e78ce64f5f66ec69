"""A live leg as a re-attaching client sees it (`registered.calls`, docs/DESIGN.md).

A device that reconnects, on this process or another (zorio_widget/cluster/hosting.py), gets one
summary per call it takes back: enough to rebuild the call's view (who is on the other end, held,
muted, since when) without replaying its events.
"""

from typing import Any

from zorio_widget.calls.session import Leg


def summary(leg: Leg) -> dict[str, Any]:
    """What a re-attaching client needs to rebuild a call (`registered.calls`)."""
    session = leg.session
    peer = session.peer_of(leg)
    remote = peer.endpoint if peer is not None else None
    return {
        "call_id": leg.call_id,
        "uuid": str(session.uuid),
        "state": session.state.value,
        "direction": leg.direction,
        "number": remote.number if remote else session.route.number,
        "name": remote.name if remote else session.route.name,
        "held": leg.held,
        "remote_held": bool(peer and peer.held),
        "muted": leg.muted,
        "answered_at": session.answered_at.isoformat() if session.answered_at else None,
    }
