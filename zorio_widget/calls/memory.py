"""Giving memory back to the OS when a process has no calls left.

Why: a burst of concurrent calls grows the heap, and the allocators keep that high-water mark
after the calls end: bench.calls saw RSS stay +15% after 20 calls and +28% after 60. Three things
bring it back:
- a full `gc.collect()`: ended legs and closed sockets' consumers are cyclic garbage (peer
  connections, tasks, event emitters) that a quiet process may not collect for a long time;
- `malloc_trim(0)`, which returns the free pages;
- glibc's malloc for Python objects (`SERVER_ENVIRONMENT`).

`release_free_memory` does the first two. The switchboard runs it in a worker thread once the
process has had no call for a moment, so a busy server never pays for it.
"""

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from typing import Final

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

SERVER_ENVIRONMENT: Final = {"PYTHONMALLOC": "malloc"}
"""What the environment of a server process carries (Makefile `run`, Dockerfile, test servers).

Why: pymalloc keeps a 1 MiB arena as long as one object in it lives, and a burst of calls leaves
its few survivors scattered over many arenas. In bench.calls with 60 calls, RSS after they all
ended was +16% with pymalloc and +9% with glibc's malloc, whose pages `malloc_trim` can return.
The price is ~5% more CPU per relayed packet (4 alternating runs each: 141 vs 148 µs,
bench/RESULTS.md). A deployment that prefers the CPU sets `PYTHONMALLOC=pymalloc`. It must be set
before the interpreter starts, so it cannot live in settings."""


def release_free_memory() -> None:
    """Collects garbage cycles and trims the C heap (blocking: call it from a worker thread)."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
