"""Per-connection token bucket: a client may burst, but not flood the event loop."""

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] | None = None) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = float(burst)
        self.tokens = float(burst)
        self._clock: Callable[[], float] = clock or time.monotonic
        self._last = self._clock()

    def allow(self) -> bool:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate_per_s)
        self._last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
