"""``MediaLifecycle``: the state, close listeners and closing of one leg's media, written once.

A browser leg's ``MediaLeg`` (an aiortc peer connection) and a trunk leg's ``RtpSession`` (a UDP
socket) free different things when they close, but the bookkeeping around it is the same, and
the bridge and the call layer rely on it being the same: a state out of ``LEG_STATES`` logged as
``old -> new`` and reported to ``on_state``; close listeners told once, when closing starts (the
bridge forgets the leg then), each one's failure logged without stopping the others; ``close()``
idempotent, a second call waiting until the first has finished (``closed``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

LEG_STATES: Final = ("new", "connecting", "connected", "failed", "closed")


class LegLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A module logger whose every line names the leg: ``[leg ID] ...``."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[leg {self.extra['leg']}] {msg}", kwargs  # type: ignore[index]


class MediaLifecycle:
    """Mixed into a leg's media: call ``_init_lifecycle`` in ``__init__``, ``_begin_close`` first in
    ``close()``, ``_set_state`` for every state change."""

    log: logging.LoggerAdapter  # type: ignore[type-arg]
    state: str
    on_state: Callable[[str], None] | None
    closed: asyncio.Event
    _closing: bool
    _close_listeners: list[Callable[[Any], None]]

    def _init_lifecycle(self) -> None:
        self.on_state = None
        self.closed = asyncio.Event()
        self._closing = False
        self._close_listeners = []

    def add_close_listener(self, listener: Callable[[Any], None]) -> None:
        """Call ``listener(media)`` when the media starts closing (the bridge forgets it then)."""
        if listener not in self._close_listeners:
            self._close_listeners.append(listener)

    async def _begin_close(self) -> bool:
        """``True`` when this call closes the media (its close listeners have been told);
        ``False`` when it was already closing, and is closed now."""
        if self._closing:
            await self.closed.wait()
            return False
        self._closing = True
        listeners, self._close_listeners = self._close_listeners, []
        for listener in listeners:
            try:
                listener(self)
            except Exception:
                self.log.exception("close listener failed")
        return True

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.log.info("state %s -> %s", self.state, state)
        self.state = state
        if self.on_state is not None:
            self.on_state(state)
