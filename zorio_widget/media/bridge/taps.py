"""Packet taps: what sees every audio packet a leg sends (recording, voice activity).

A leg's taps are one callable (``Taps``), made anew each time they change, because the native
route checks the leg's ``packet_tap`` by identity before each packet: a new object makes it fall
back to Python and re-arm with the new taps, so a tap never takes a call off the fast path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

Tap = Callable[[bytes, int], object]
"""Called with each audio packet a leg sends: ``(payload, RTP timestamp)``; must not block."""


class Taps:
    """A leg's taps as one callable (the object the native route checks by identity): a new one
    each time the taps change. A tap that raises is logged and the others still run."""

    __slots__ = ("taps", "owner")

    def __init__(self, owner: str, taps: tuple[Tap, ...]) -> None:
        self.owner = owner
        self.taps = taps

    def __call__(self, payload: bytes, timestamp: int) -> None:
        for tap in self.taps:
            try:
                tap(payload, timestamp)
            except Exception:
                logger.exception("[leg %s] packet tap failed", self.owner)
