"""Starting and stopping the process's SIP trunk service with the server (zorio_widget/serve.py).

``TrunkRuntime.start()`` runs on the server's event loop (Daphne's asyncio reactor) once it turns:
it reads ``SIP_BIND`` (``off``: nothing starts), binds the user agent and loads the trunks. The
call layer reaches it through ``dial_out``, the originator of numbers routing does not know
(``settings.CALL_ORIGINATORS["unknown"]``, so every switchboard the process builds has it, a
cluster's included): while a runtime runs, such a number goes out through a trunk that takes it,
else it ends ``failed`` as before. A bind that fails is logged as an error and the server goes on
serving browsers. ``stop()`` hangs up the trunk calls (BYE/CANCEL), unregisters, frees the ports.
"""

from __future__ import annotations

import logging
from typing import Any

from zorio_widget.calls.session import CallSession
from zorio_widget.calls.switchboard import get_switchboard
from zorio_widget.calls.targets import fail_unknown

from .calls import TrunkCalls
from .service import TrunkService

logger = logging.getLogger(__name__)


class TrunkRuntime:
    """The trunk service of this process and the call layer's hook into it."""

    def __init__(self, calls: TrunkCalls) -> None:
        self.calls = calls

    @property
    def service(self) -> TrunkService:
        return self.calls.service

    @classmethod
    async def start(cls, **ua_options: Any) -> TrunkRuntime | None:
        """``None`` when ``SIP_BIND=off`` or the bind failed (logged)."""
        holder: list[TrunkCalls] = []
        service = TrunkService.from_settings(on_incoming=lambda call, target: holder[0].on_incoming(call, target),
                                             **ua_options)
        if service is None:
            return None
        calls = TrunkCalls(service, get_switchboard)
        holder.append(calls)
        try:
            await service.start()
        except OSError as exc:
            logger.error("SIP trunks are off: cannot bind SIP_BIND %s:%d: %s", service.ua.host, service.ua.port, exc)
            await service.close()
            return None
        runtime = cls(calls)
        _running.append(runtime)
        logger.info("SIP user agent on %s:%d (UDP and TCP), %d trunk(s)", service.ua.host, service.ua.port,
                    len(service.ua.agents))
        return runtime

    async def stop(self) -> None:
        if self in _running:
            _running.remove(self)
        await self.service.close()


_running: list[TrunkRuntime] = []
"The runtime this process started (at most one): what ``dial_out`` dials through."


async def dial_out(session: CallSession) -> None:
    """The originator of unknown numbers (``settings.CALL_ORIGINATORS``): a trunk, or ``failed``."""
    if not _running:
        await fail_unknown(session)
        return
    await _running[0].calls.dial_out(session)
