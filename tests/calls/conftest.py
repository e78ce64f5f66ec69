"""Helpers for call tests: tone frequencies, a phone factory fixture and call set-up for the live
tests; the demo extensions on a switchboard of fakes (`board`, `fake_phone`) for the session tests."""

import asyncio
import io
from collections.abc import AsyncIterator, Callable

import pytest
from django.core.management import call_command

from tests.calls.fakes import FakeDevice, Phone, make_board
from tests.live import LiveServer
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.client import PhoneClient
from zorio_widget.tenants.models import Extension

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




@pytest.fixture
def demo_extensions(transactional_db: None) -> dict[str, Extension]:
    """The demo tenant (seed_demo) in the test database, by extension number."""
    call_command("seed_demo", stdout=io.StringIO())
    return {e.number: e for e in Extension.objects.filter(tenant__slug="demo").select_related("user")}


@pytest.fixture
async def board(transactional_db: None) -> AsyncIterator[Switchboard]:
    """A real switchboard with fake media (tests/calls/fakes.py); what a test leaves live is ended
    (before the database goes: ending writes the records)."""
    switchboard = make_board()
    yield switchboard
    for session in list(switchboard.sessions):
        async with session.lock:
            await session.end("hangup")
    switchboard.heartbeat.stop()


@pytest.fixture
def fake_phone(board: Switchboard, demo_extensions: dict[str, Extension]) -> Callable[[str], Phone]:
    """Registers one more fake device of a demo extension on `board`."""

    def register(number: str) -> Phone:
        ext = demo_extensions[number]
        device = FakeDevice(ext.tenant_id, ext.pk, ext.number, ext.name)
        board.register(device)
        return Phone(board, device)

    return register
