"""The switchboard gives memory back once the process has no calls left (debounced)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from tests.calls.fakes import until
from zorio_widget.calls import switchboard as switchboard_module
from zorio_widget.calls.limits import CallLimits
from zorio_widget.calls.switchboard import Switchboard

DELAY_S = 0.1


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    calls: list[float] = []
    monkeypatch.setattr(switchboard_module, "release_free_memory", lambda: calls.append(1.0))
    return calls


class _Call:
    """Stands for a CallSession: the switchboard keeps it in its set of live calls and gives its
    slot back (tenant, placing extension) when it is forgotten."""

    tenant_id = 1
    origin = SimpleNamespace(number="1001")


async def _board_with_calls(count: int) -> tuple[Switchboard, list[Any]]:
    board = Switchboard(max_calls=10, ring_timeout_s=5, idle_release_delay_s=DELAY_S)
    sessions = [_Call() for _ in range(count)]
    limits = CallLimits(per_tenant=10, per_extension=10)
    for session in sessions:
        assert await board.take_slot(1, "1001", limits) is None
        board.sessions.add(session)  # type: ignore[arg-type]
    return board, sessions


async def test_a_burst_of_hangups_and_disconnects_releases_once_after_it_settles(releases: list[float]) -> None:
    board, sessions = await _board_with_calls(3)
    for session in sessions:
        board.forget_session(session)
        await asyncio.sleep(DELAY_S / 4)
    device = SimpleNamespace(tenant_id=1, number="1001", device_id="d1")
    board.register(device)  # type: ignore[arg-type]
    await board.unregister(device)  # type: ignore[arg-type]
    assert releases == []  # not while calls are still ending
    await until(lambda: releases, timeout_s=5)  # it runs in a worker thread, late on a loaded machine
    await asyncio.sleep(DELAY_S * 3)  # a second release would show by now
    assert releases == [1.0]
    assert board.capacity.in_use == 0


async def test_no_release_when_a_call_starts_before_the_delay(releases: list[float]) -> None:
    board, (first,) = await _board_with_calls(1)
    board.forget_session(first)
    await asyncio.sleep(DELAY_S / 2)
    board.sessions.add(_Call())  # type: ignore[arg-type]
    await asyncio.sleep(DELAY_S * 3)
    assert releases == []
