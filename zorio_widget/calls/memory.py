"""Giving memory back to the OS when a process has no calls left.

Why: a burst of concurrent calls grows glibc's heap (aiortc allocates many small buffers per
packet), and glibc keeps that high-water mark after the calls end: bench.calls saw RSS stay +15%
after 20 calls. `malloc_trim(0)` returns the free pages; it runs only when the last call ended, in
a worker thread, so a busy server never pays for it.
"""

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _find_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


_malloc_trim = _find_malloc_trim()


def release_free_memory() -> None:
    """Collects garbage cycles and trims the C heap (blocking: call it from a worker thread)."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
