"""Throttling of failed `Authorization: Api-Key` attempts, per key prefix and per client address.

Failures are counted in fixed one-minute windows in Django's cache (settings.CACHES: Redis when
REDIS_URL is set, so every server process shares the counts). Once a counter of the current window
reaches its limit (`API_KEY_FAILURES_PER_MINUTE` for a key prefix, `API_KEY_FAILURES_PER_IP_PER_MINUTE`
for an address), attempts with that prefix or from that address are refused before any key is looked
up, until the window ends. Successes count nothing, and a key whose prefix and address are under their
limits is never held back by failures elsewhere. Counter keys carry a digest of the prefix or address,
never the value itself.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import caches

WINDOW_S = 60


class ApiKeyThrottle:
    """Fixed-window failure counters; `_now()` is the seam through which tests move time."""

    def __init__(self, cache_alias: str = "default") -> None:
        self.cache_alias = cache_alias

    def _now(self) -> float:
        return time.time()

    def retry_after_s(self, prefix: str, address: str) -> int | None:
        """Seconds until an attempt with `prefix` from `address` may be made; None: it may be made now."""
        now = self._now()
        limits = self._counters(prefix, address, now)
        counts = caches[self.cache_alias].get_many(list(limits))
        if any(limit and int(counts.get(key, 0)) >= limit for key, limit in limits.items()):
            return math.ceil(WINDOW_S - now % WINDOW_S)
        return None

    def record_failure(self, prefix: str, address: str) -> None:
        cache = caches[self.cache_alias]
        for key in self._counters(prefix, address, self._now()):
            # A key made in this window lives at least until the window ends.
            cache.add(key, 0, timeout=WINDOW_S)
            try:
                cache.incr(key)
            except ValueError:  # it expired between add() and incr()
                cache.set(key, 1, timeout=WINDOW_S)

    def _counters(self, prefix: str, address: str, now: float) -> dict[str, int]:
        """The counter keys of the window `now` falls in, with their limits."""
        window = int(now // WINDOW_S)
        return {
            f"api-key-failures:prefix:{_digest(prefix)}:{window}": settings.API_KEY_FAILURES_PER_MINUTE,
            f"api-key-failures:ip:{_digest(address)}:{window}": settings.API_KEY_FAILURES_PER_IP_PER_MINUTE,
        }


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


api_key_throttle = ApiKeyThrottle()
