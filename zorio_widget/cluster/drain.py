"""Draining: a process asked to stop takes no new calls, lets its live ones go on, then ends them.

`drain()` is what SIGTERM starts (zorio_widget/serve.py, after `ops.lifecycle.set_draining()` has
turned `/readyz` to 503): from then on `call.create` gets `draining` (the router refuses it before
anything is taken) and the cluster's placement skips this node (its record says draining). Live
calls go on until they end by themselves or `timeout_s` (`DRAIN_TIMEOUT_S`) runs out; then each is
ended, cleanly: every party gets `call.ended`, every record is closed (`hangup` for a connected
call, `cancelled` for one still ringing), the media is freed. Then the owners of calls that this
process's sockets are parties of are told those sockets are going (their legs wait for the
reconnect, on another process), and the node leaves the cluster (its record and presence gone at
once, not after a heartbeat's TTL). The caller then stops the
server; sockets closing afterwards are the only thing left, and they hold nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from zorio_widget.calls.states import CallState
from zorio_widget.cluster.router import Router

logger = logging.getLogger(__name__)

POLL_S = 0.2
HAND_OVER_S = 0.5
"""Between telling the owners of this process's sockets' calls and closing those sockets."""


async def drain(router: Router, timeout_s: float) -> int:
    """Drains the router's switchboard; returns how many calls had to be ended at the deadline."""
    board = router.board
    board.accepting = False
    if router.cluster is not None:
        router.cluster.node.draining = True
        await _quietly(router.cluster.node.publish_record())
    deadline = time.monotonic() + timeout_s
    logger.info("draining: %d live call(s), up to %.0f s", len(board.sessions), timeout_s)
    while board.sessions and time.monotonic() < deadline:  # noqa: ASYNC110 - calls end in many ways; a poll sees them all
        await asyncio.sleep(POLL_S)
    ended = 0
    for session in list(board.sessions):
        async with session.lock:
            if session.is_live:
                ended += 1
                await session.end("hangup" if session.state == CallState.ANSWERED else "cancelled")
    if ended:
        logger.info("draining: ended %d call(s) at the deadline", ended)
    if router.cluster is not None:
        await _quietly(router.hand_over())
        await asyncio.sleep(HAND_OVER_S)
        await _quietly(router.cluster.leave())
    return ended


async def _quietly(work: Awaitable[object]) -> None:
    try:
        await work
    except Exception as exc:
        logger.warning("draining: the cluster could not be told: %r", exc)
