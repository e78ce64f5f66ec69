"""``TrunkService``: the process's SIP user agent, configured from the settings and the database.

``TrunkService.from_settings(on_incoming=...)`` reads ``SIP_BIND`` (``off``: no service),
``SIP_PUBLIC_ADDRESS`` and ``RTP_PORT_MIN``/``RTP_PORT_MAX``; ``start()`` binds and loads every
enabled trunk; ``reload()`` re-reads them (a saved or deleted trunk schedules one in this process,
and ``dial`` reloads first, so a change made through another process applies to the next call);
an INVITE from an address or to a DID the user agent does not know reloads them too (``UserAgent.refresh``);
registration states reported by the user agent are stored on the trunk for the admin.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_delete, post_save

from zorio_widget.media.rtp import PortRange
from zorio_widget.sip import SipCall, UserAgent

from .config import record_trunk_state, trunk_configs
from .models import Did, Trunk

logger = logging.getLogger(__name__)


def parse_sip_bind(value: str) -> tuple[str, int] | None:
    """``host:port`` (``[v6]:port`` too) → ``(host, port)``; ``off`` → ``None``."""
    text = value.strip()
    if text.lower() == "off":
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not sep or not 0 <= number <= 65535:
        raise ImproperlyConfigured(f"SIP_BIND={value!r}: expected IP:PORT (e.g. 0.0.0.0:5060) or off")
    return host, number


class TrunkService:
    """Owns the ``UserAgent`` of this process."""

    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua
        ua.refresh = self.reload
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, *, on_incoming: Callable[[SipCall, str], None] | None = None,
                      **ua_options: Any) -> TrunkService | None:
        bind = parse_sip_bind(settings.SIP_BIND)
        if bind is None:
            logger.info("SIP_BIND=off: no SIP trunk service")
            return None
        service = cls(UserAgent(
            bind[0], bind[1], public_address=settings.SIP_PUBLIC_ADDRESS,
            rtp_ports=PortRange(settings.RTP_PORT_MIN, settings.RTP_PORT_MAX), on_incoming=on_incoming,
            **ua_options))
        service.ua.on_trunk_state = service._state
        return service

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.ua.start()
        await self.reload()
        for model in (Trunk, Did):
            post_save.connect(self._changed, sender=model, dispatch_uid=f"trunk-service-{id(self)}-{model.__name__}-s")
            post_delete.connect(self._changed, sender=model, dispatch_uid=f"trunk-service-{id(self)}-{model.__name__}-d")

    async def reload(self) -> None:
        # not thread-sensitive: a reload scheduled by a save that runs in the thread-sensitive
        # executor must not wait for that executor (it would deadlock)
        await self.ua.set_trunks(await sync_to_async(trunk_configs, thread_sensitive=False)())

    async def dial(self, trunk_id: str, number: str, **options: Any) -> SipCall:
        await self.reload()
        return await self.ua.dial(trunk_id, number, **options)

    async def prepare(self, trunk_id: str, number: str, **options: Any) -> SipCall:
        """``UserAgent.prepare`` with the trunks as they are now (see ``dial``)."""
        await self.reload()
        return await self.ua.prepare(trunk_id, number, **options)

    async def close(self) -> None:
        for model in (Trunk, Did):
            post_save.disconnect(dispatch_uid=f"trunk-service-{id(self)}-{model.__name__}-s", sender=model)
            post_delete.disconnect(dispatch_uid=f"trunk-service-{id(self)}-{model.__name__}-d", sender=model)
        await self.ua.close()
        for task in list(self._tasks):
            await task

    def _changed(self, **_kwargs: Any) -> None:
        """A trunk or DID was saved (maybe from a worker thread): reload on the service's loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._spawn, self.reload)

    def _state(self, trunk_id: str, kind: str, state: str, detail: str) -> None:
        self._spawn(lambda: record_trunk_state(trunk_id, kind, state, detail))

    def _spawn(self, factory: Callable[[], Any]) -> None:
        task = asyncio.ensure_future(factory())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("trunk service task failed", exc_info=task.exception())
