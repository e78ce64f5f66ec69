"""How the callee side of a call is originated, for each kind of target routing can pick.

Routing (`routing.py`) says what a dialled number is: an extension, a service number, nothing.
Each kind has one `Originator` here, run by `CallSession.start` under the call's lock once the
caller's leg exists: ring the extension's devices, serve the service from the bridge, or fail.
The switchboard holds the table (`Switchboard(originators=...)`): a new kind of target (a SIP
trunk, a scenario route) is a new `RouteKind` and an originator registered there, which makes
the callee side's legs through the same `CallSession` interface (`offer_to`, `mark_answered`...).
"""

import asyncio
import logging

from zorio_widget.calls.routing import RouteKind, ServiceNumber
from zorio_widget.calls.session import CallSession, Originator

logger = logging.getLogger(__name__)


async def ring_extension(session: CallSession) -> None:
    """Offers the call to every device of the extension at once; the first to answer takes it."""
    caller, route, board = session.caller, session.route, session.board
    assert caller is not None
    if route.extension_id == caller.endpoint.extension_id:
        await session.end("failed")
        return
    devices = await board.devices_of(session.tenant_id, route.number)
    if not devices:
        await session.end("failed")
        return
    if await board.claim_line(session.tenant_id, route.number, excluding=session, holder=session) is None:
        # Every line the route allows is taken: one without call waiting, else the tenant's
        # per-extension limit; checked and claimed in the same step across the cluster (lines.py).
        await session.end("busy")
        return
    offers = await asyncio.gather(*(session.offer_to(device) for device in devices), return_exceptions=True)
    for result in offers:
        if isinstance(result, BaseException):
            logger.warning("call %s: could not offer to a device: %r", session.uuid, result)
    if not session.ringing:
        await session.end("failed")
        return
    await session.ringing_started()


async def serve_service(session: CallSession) -> None:
    """`*43` echoes the caller's audio back, `*44` plays music: answered by the server at once."""
    caller = session.caller
    assert caller is not None
    if session.route.service == ServiceNumber.ECHO:
        session.bridge.echo(caller.media)
    else:
        session.bridge.play(caller.media, "music")
    await session.mark_answered()
    await caller.send("call.answered")


async def fail_unknown(session: CallSession) -> None:
    """A well-formed number nothing answers to: the call is placed and ends `failed`."""
    await session.end("failed")


BUILT_IN_ORIGINATORS: dict[RouteKind, Originator] = {
    RouteKind.EXTENSION: ring_extension,
    RouteKind.SERVICE: serve_service,
    RouteKind.UNKNOWN: fail_unknown,
}
