"""The metrics module's parts: the token check, the event-loop lag monitor, counters that only grow."""

import asyncio
import time

import pytest
from django.test import RequestFactory

from zorio_widget.ops.collector import MediaTotals
from zorio_widget.ops.looplag import LoopLagMonitor
from zorio_widget.ops.views import metrics_authorized


@pytest.mark.parametrize(("header", "allowed"), [
    ("Bearer right-token", True), ("bearer right-token", True), ("Bearer wrong-token", False),
    ("Bearer right-tokenx", False), ("Bearer ", False), ("Api-Key right-token", False), ("", False),
])
def test_metrics_token(settings, header: str, allowed: bool) -> None:
    settings.METRICS_TOKEN = "right-token"
    request = RequestFactory().get("/metrics", HTTP_AUTHORIZATION=header)
    assert metrics_authorized(request) is allowed


def test_no_token_set_means_open(settings) -> None:
    settings.METRICS_TOKEN = ""
    assert metrics_authorized(RequestFactory().get("/metrics"))


async def test_loop_lag_monitor_sees_a_blocked_loop() -> None:
    seen: list[float] = []
    task = asyncio.create_task(LoopLagMonitor(interval_s=0.05, observe=seen.append).run())
    await asyncio.sleep(0.2)
    time.sleep(0.3)  # noqa: ASYNC251 - blocking the loop is the point: as a slow synchronous call would
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert max(seen) >= 0.2
    assert sorted(seen)[len(seen) // 2] < 0.1  # unblocked, the lag is small


class FakeOutbound:
    forwarded = 0


class FakeMedia:
    """What MediaTotals reads of a leg's media: counters and a close listener (MediaLeg's names)."""

    def __init__(self) -> None:
        self.packets_received = 0
        self.outbound = FakeOutbound()
        self.receiver = None
        self._listeners: list = []

    def add_close_listener(self, listener) -> None:
        self._listeners.append(listener)

    def close(self) -> None:
        for listener in self._listeners:
            listener(self)


async def test_counters_keep_what_closed_legs_carried() -> None:
    totals = MediaTotals()
    first, second = FakeMedia(), FakeMedia()
    first.packets_received, first.outbound.forwarded = 100, 90
    assert (await totals.totals([first])).packets_received == 100
    second.packets_received = 5
    first.packets_received = 150
    first.close()  # its final figures move to the totals
    assert (await totals.totals([second])).packets_received == 155
    assert (await totals.totals([first, second])).packets_received == 155  # a closed leg still listed: not twice
    second.close()
    later = await totals.totals([])
    assert (later.packets_received, later.packets_relayed) == (155, 90)
