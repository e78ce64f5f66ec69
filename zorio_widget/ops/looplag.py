"""How late the event loop runs: a small task that sleeps a fixed interval and measures the overshoot.

Every relayed packet, every signalling frame and every timer of a call waits for the loop; when
something blocks it (a slow synchronous call, a CPU-bound burst) the lag shows here before calls
sound choppy. The overshoot of `asyncio.sleep(interval)` is the scheduling delay a callback due at
that moment would have seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from zorio_widget.ops.metrics import observe_loop_lag

LOOP_LAG_INTERVAL_S = 0.25


class LoopLagMonitor:
    def __init__(self, interval_s: float = LOOP_LAG_INTERVAL_S,
                 observe: Callable[[float], None] = observe_loop_lag) -> None:
        self.interval_s = interval_s
        self.observe = observe

    async def run(self) -> None:
        """Measures until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.observe(loop.time() - due)
