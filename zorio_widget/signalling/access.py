"""Open sockets lose their access when their token expires or their extension is disabled.

A token is checked when a socket authenticates; without this watch a socket would keep acting
for an agent long after the token ran out or the admin disabled the extension or tenant. One
task per process checks every open socket every `WS_ACCESS_CHECK_S` seconds: expiry against the
token's own claim (no database), the enabled flags with one query for all of them.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from channels.db import database_sync_to_async

from zorio_widget.tenants.models import Extension

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


class Watched(Protocol):
    extension_id: int
    token_expires_at: float

    async def revoke(self, close_code: int, code: str, message: str) -> None: ...


@database_sync_to_async
def _enabled_among(extension_ids: Iterable[int]) -> set[int]:
    return set(Extension.objects.filter(pk__in=list(extension_ids), enabled=True, tenant__enabled=True)
               .values_list("pk", flat=True))


class AccessWatch:
    def __init__(self, interval_s: float, clock: Callable[[], float] = time.time,
                 enabled_among: Callable[[Iterable[int]], Awaitable[set[int]]] = _enabled_among) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._enabled_among = enabled_among
        self._sockets: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, socket: Watched) -> None:
        self._sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="access-watch")

    def forget(self, socket: Watched) -> None:
        self._sockets.discard(socket)

    async def check_now(self) -> None:
        now = self._clock()
        for socket in [s for s in self._sockets if s.token_expires_at <= now]:
            self.forget(socket)
            await socket.revoke(CLOSE_UNAUTHORIZED, "unauthorized", "The token has expired; reconnect with a new one.")
        if not self._sockets:
            return
        enabled = await self._enabled_among({s.extension_id for s in self._sockets})
        for socket in [s for s in self._sockets if s.extension_id not in enabled]:
            self.forget(socket)
            await socket.revoke(CLOSE_FORBIDDEN, "forbidden", "The webphone was disabled for this extension.")

    async def _run(self) -> None:
        while self._sockets:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check_now()
            except Exception:  # a database hiccup must not end the watch
                logger.exception("access check failed")
        self._task = None


_watch: AccessWatch | None = None


def get_access_watch() -> AccessWatch:
    global _watch
    if _watch is None:
        from django.conf import settings

        _watch = AccessWatch(settings.WS_ACCESS_CHECK_S)
    return _watch
