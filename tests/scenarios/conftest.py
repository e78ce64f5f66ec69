"""Scenario tests: a real switchboard of fakes (tests/calls/fakes.py) whose scenario routes run their
scenarios, the demo extensions, routes made in the test database, and the real speech engine and
player (the player's root a temporary folder of the test's own files)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.calls import conftest as calls_fixtures
from tests.calls.fakes import FakeMedia, Phone
from zorio_widget.calls.routing import RouteKind
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.media.playback import PlaybackConfig, Player
from zorio_widget.media.speech import Speaker
from zorio_widget.media.speech.config import engine_from_settings
from zorio_widget.routes.models import Route
from zorio_widget.scenarios import agents
from zorio_widget.scenarios.originate import originate
from zorio_widget.scenarios.services import Services, use_services
from zorio_widget.tenants.models import Extension

# The call tests' fixtures, shared here (a conftest below the top may not declare pytest_plugins).
phone = calls_fixtures.phone
demo_extensions = calls_fixtures.demo_extensions
board = calls_fixtures.board
fake_phone = calls_fixtures.fake_phone


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    folder = tmp_path / "sounds"
    folder.mkdir()
    return folder


@pytest.fixture
def services(sounds: Path) -> Iterator[Services]:
    made = Services(Speaker(engine_factory=engine_from_settings),
                    Player(PlaybackConfig(root=sounds.parent, allowed_hosts=frozenset())))
    use_services(made)
    yield made
    use_services(None)


@pytest.fixture(autouse=True)
def fresh_agents() -> Iterator[None]:
    agents.use_directory(None)
    yield
    agents.use_directory(None)


@pytest.fixture
def scenario_board(board: Switchboard, services: Services) -> Switchboard:
    """The call tests' switchboard of fakes (tests/calls/conftest.py), which runs scenario routes too."""
    board.originators[RouteKind.SCENARIO] = originate
    return board


@pytest.fixture
def on_board(scenario_board: Switchboard, fake_phone: Callable[[str], Phone]) -> Callable[[str], Phone]:
    """Registers a fake device of a demo extension on `scenario_board`."""
    return fake_phone


@pytest.fixture
def route(demo_extensions: dict[str, Extension]) -> Callable[..., Route]:
    tenant_id = demo_extensions["1001"].tenant_id

    async def make(number: str, scenario: str, params: dict[str, Any] | None = None, name: str = "") -> Route:
        found, _ = await Route.objects.aupdate_or_create(
            tenant_id=tenant_id, number=number, defaults={"scenario": scenario, "params": params or {}, "name": name})
        return found

    return make


class Ear:
    """Plays the part of a fake party's sender: pulls its outbound track as aiortc would (real 20 ms
    clock), so playbacks progress and finish; `heard` keeps what it pulled."""

    def __init__(self, media: FakeMedia) -> None:
        self.media = media
        self.heard: list[str] = []
        self.packets = 0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while True:
                await self.media.outbound.recv_opus_payload()
                self.packets += 1
                self.heard.append(str(self.media.outbound.source))
        except Exception:
            return

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture
async def ears() -> AsyncIterator[Callable[[FakeMedia], Ear]]:
    made: list[Ear] = []

    def ear(media: FakeMedia) -> Ear:
        made.append(Ear(media))
        return made[-1]

    yield ear
    for e in made:
        await e.close()
