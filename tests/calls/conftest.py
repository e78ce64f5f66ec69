"""Helpers for live call tests: tone frequencies, a phone factory fixture, call set-up."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tests.live import LiveServer
from zorio_widget.client import PhoneClient

CALLER_HZ, CALLEE_HZ = 440.0, 880.0
ORIGIN = "http://127.0.0.1:5173"
PhoneFactory = Callable[..., "asyncio.Future[PhoneClient]"]


def near(hz: float, target: float) -> bool:
    return abs(hz - target) < 25


@pytest.fixture
async def phone(daphne_server: LiveServer) -> AsyncIterator[Callable[[str], "asyncio.Future[PhoneClient]"]]:
    clients: list[PhoneClient] = []

    async def open_phone(extension: str) -> PhoneClient:
        client = await PhoneClient.connect(daphne_server.ws_url, daphne_server.token(extension), origin=ORIGIN)
        await client.registered()
        clients.append(client)
        return client

    yield open_phone  # type: ignore[misc]
    for client in clients:
        await client.close()


async def connect_pair(phone, caller_ext: str = "1001", callee_ext: str = "1002"):
    alice, bob = await phone(caller_ext), await phone(callee_ext)
    call = await alice.call(callee_ext, CALLER_HZ)
    incoming = await bob.expect("call.incoming")
    await call.expect("call.ringing")
    return alice, bob, call, incoming


