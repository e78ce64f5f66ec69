"""Named worker-thread pools shared by the whole process (recording writer, VAD decoders).

Why shared: per-call threads would grow with calls (and each costs a stack and a wake-up); one
small pool per kind of work keeps the thread count flat. Each pool starts on first use.
"""

from __future__ import annotations

import concurrent.futures
import threading

_pools: dict[str, concurrent.futures.ThreadPoolExecutor] = {}
_lock = threading.Lock()


def shared_executor(name: str, workers: int = 1) -> concurrent.futures.ThreadPoolExecutor:
    """The process's pool called ``name`` (threads named after it), created with ``workers``."""
    with _lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix=name)
        return pool
