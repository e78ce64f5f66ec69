"""The checks behind `/readyz`: the database answers a query and the channel layer carries a message.

Each check runs on the event loop with a deadline (`READY_CHECK_TIMEOUT_S`): the query in Django's
database thread, the channel-layer round trip (a message sent to a fresh named channel and
received back). A check that fails or runs out of time names itself;
the reason is the exception's class, the detail goes to the log (it may hold addresses).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

logger = logging.getLogger(__name__)

READY_CHECK_TIMEOUT_S = 2.0

Check = Callable[[], Awaitable[None]]


@database_sync_to_async
def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 did not return 1")


async def check_database() -> None:
    await _query_database()


async def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # A named channel of its own, not a process-local one (`new_channel()`, "...!..."): channels_redis
    # serialises receives on process-local channels behind one lock that a long-lived receiver may
    # hold for seconds, while a named channel is read directly: this is the layer's own round trip.
    nonce = secrets.token_hex(8)
    channel = f"zorio.readyz.{nonce}"
    await layer.send(channel, {"type": "readyz.ping", "nonce": nonce})
    message = await layer.receive(channel)
    if message.get("nonce") != nonce:
        raise RuntimeError("the channel layer returned another message")


CHECKS: dict[str, Check] = {"database": check_database, "channel_layer": check_channel_layer}


async def run_check(name: str, check: Check, timeout_s: float = READY_CHECK_TIMEOUT_S) -> str:
    """`ok`, or why not (`timeout`, or the exception's class name)."""
    try:
        await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        logger.warning("readiness: %s did not answer within %.1f s", name, timeout_s)
        return "timeout"
    except Exception as exc:
        logger.warning("readiness: %s failed: %r", name, exc)
        return f"error: {type(exc).__name__}"
    return "ok"


async def run_checks(checks: dict[str, Check] | None = None,
                     timeout_s: float = READY_CHECK_TIMEOUT_S) -> dict[str, str]:
    """Every check at once, by name."""
    checks = CHECKS if checks is None else checks
    results = await asyncio.gather(*(run_check(name, check, timeout_s) for name, check in checks.items()))
    return dict(zip(checks, results, strict=True))
