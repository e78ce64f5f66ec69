"""The UDP ports RTP sessions bind: a configured range (``RTP_PORT_MIN``..``RTP_PORT_MAX``).

Even ports only (RFC 3550 §11: RTP on even, RTCP on the next odd one, left free for it). A port is
taken by binding it: one in use by another process is skipped, one this process holds is never
tried twice. Binding is done by asyncio (no blocking call).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Final

DEFAULT_MIN: Final = 20000
DEFAULT_MAX: Final = 29999


class PortsExhausted(OSError):
    pass


class PortRange:
    """Hands out even UDP ports of ``[low, high]`` to datagram endpoints."""

    def __init__(self, low: int = DEFAULT_MIN, high: int = DEFAULT_MAX) -> None:
        if not 1024 <= low <= high <= 65535:
            raise ValueError(f"RTP port range {low}-{high} is not within 1024-65535")
        self.low = low + (low % 2)
        self.high = high
        if self.low > self.high:
            raise ValueError(f"RTP port range {low}-{high} holds no even port")
        self.in_use: set[int] = set()

    @property
    def size(self) -> int:
        return (self.high - self.low) // 2 + 1

    async def bind(
        self, host: str, factory: Callable[[], asyncio.DatagramProtocol]
    ) -> tuple[asyncio.DatagramTransport, int]:
        """Bind a free port of the range; ``PortsExhausted`` when none is left."""
        loop = asyncio.get_running_loop()
        start = random.randrange(self.size)
        for i in range(self.size):
            port = self.low + 2 * ((start + i) % self.size)
            if port in self.in_use:
                continue
            try:
                transport, _ = await loop.create_datagram_endpoint(factory, local_addr=(host, port))
            except OSError:
                continue
            self.in_use.add(port)
            return transport, port
        raise PortsExhausted(f"no free RTP port in {self.low}-{self.high}")

    def release(self, port: int) -> None:
        self.in_use.discard(port)
