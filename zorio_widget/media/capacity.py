"""Per-process cap on concurrent calls.

Why: one Python process saturates near one core and overload fails silently (packets slow down,
nothing is logged — docs/MEDIA-NOTES.md), so the call layer refuses new calls with the ``capacity``
error once the limit is reached instead of degrading every call in progress.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


class CallCapacity:
    """A counter of calls in progress with a hard limit; thread-safe."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("limit must be >= 0")
        self.limit = limit
        self._in_use = 0
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def available(self) -> int:
        return max(0, self.limit - self._in_use)

    def try_acquire(self) -> bool:
        """Take a slot for a new call; ``False`` means the process is full."""
        with self._lock:
            if self._in_use >= self.limit:
                logger.warning("call refused: %d/%d calls in progress", self._in_use, self.limit)
                return False
            self._in_use += 1
            return True

    def release(self) -> None:
        """Give a slot back (once per successful ``try_acquire``)."""
        with self._lock:
            if self._in_use == 0:
                raise RuntimeError("CallCapacity.release() without a matching try_acquire()")
            self._in_use -= 1
