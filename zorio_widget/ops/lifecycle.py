"""The server process's lifecycle: draining, and the background tasks it runs while it serves.

Draining (README "Production"): once a process is asked to stop, `/readyz` answers 503 so the proxy
and the orchestrator send it nothing new while its live calls finish. Whoever handles SIGTERM calls
`set_draining()`; everything that must refuse new work reads `is_draining()`. The flag is per
process by design: it describes this process, not the cluster.

`start_background_tasks()` is called once the event loop runs (zorio_widget/serve.py, when
Twisted's reactor starts): the event-loop lag monitor and the webhook delivery worker.
`stop_background_tasks()` cancels and awaits them, so a stopped process leaves no task behind.
"""

from __future__ import annotations

import asyncio
import logging
import threading

logger = logging.getLogger(__name__)

_draining = threading.Event()
_tasks: list[asyncio.Task[None]] = []


def set_draining() -> None:
    """This process takes no new work from now on (`/readyz` answers 503)."""
    if not _draining.is_set():
        logger.info("draining: readiness now fails, no new work is accepted")
    _draining.set()


def is_draining() -> bool:
    return _draining.is_set()


def clear_draining() -> None:
    """Back to serving (tests; a drain that was called off)."""
    _draining.clear()


def start_background_tasks() -> None:
    """Starts the process's background tasks on the running loop; idempotent."""
    if any(not task.done() for task in _tasks):
        return
    from zorio_widget.ops.looplag import LoopLagMonitor
    from zorio_widget.webhooks.delivery import DeliveryWorker

    loop = asyncio.get_running_loop()
    _tasks.append(loop.create_task(LoopLagMonitor().run(), name="zorio.loop-lag"))
    _tasks.append(loop.create_task(DeliveryWorker.from_settings().run(), name="zorio.webhooks"))
    logger.info("background tasks started: %s", ", ".join(task.get_name() for task in _tasks))


async def stop_background_tasks() -> None:
    """Cancels the background tasks and waits for them to finish."""
    tasks = list(_tasks)
    _tasks.clear()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
