"""Security finding 10: an open socket whose token expires, or whose extension or tenant is
disabled, is closed within seconds (real server, real sockets)."""

import asyncio
import time
from collections.abc import Iterator

import pytest
import websockets

from tests.live import LiveServer, manage, start_live_server
from zorio_widget.client import PhoneClient

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]
ORIGIN = "http://127.0.0.1:5173"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    server = start_live_server({"WS_ACCESS_CHECK_S": "0.5"})
    yield server
    server.stop()


async def _closed_with(client: PhoneClient, timeout_s: float) -> int | None:
    await asyncio.wait_for(client._reader, timeout_s)
    assert isinstance(client.ws.close_code, int)
    return client.ws.close_code


async def test_a_socket_is_closed_when_its_token_expires(server: LiveServer) -> None:
    client = await PhoneClient.connect(server.ws_url, server.token("1001", ttl=2), origin=ORIGIN)
    await client.registered()
    started = time.monotonic()
    assert await _closed_with(client, 6) == 4401
    assert 1.0 < time.monotonic() - started < 4.5
    error = next(f for f in client.history if f["type"] == "error")
    assert error["code"] == "unauthorized" and "expired" in error["message"]


@pytest.mark.parametrize("disable", [
    "Extension.objects.filter(tenant__slug='demo', number='1002').update(enabled=False)",
    "Tenant.objects.filter(slug='demo').update(enabled=False)",
])
async def test_a_socket_is_closed_when_its_extension_or_tenant_is_disabled(server: LiveServer, disable: str) -> None:
    spare_token = server.token("1002")  # minted while it may still be
    client = await PhoneClient.connect(server.ws_url, server.token("1002"), origin=ORIGIN)
    other = await PhoneClient.connect(server.ws_url, server.token("1003"), origin=ORIGIN)
    await client.registered()
    await other.registered()
    models = "from zorio_widget.tenants.models import Extension, Tenant; "
    manage(server, "shell", "-c", models + disable)
    try:
        assert await _closed_with(client, 4) == 4403
        error = next(f for f in client.history if f["type"] == "error")
        assert error["code"] == "forbidden"
        if "Tenant" in disable:
            assert await _closed_with(other, 4) == 4403
        else:  # another extension of the tenant keeps its socket
            await asyncio.sleep(1.0)
            assert not other.closed
        with pytest.raises(websockets.ConnectionClosed):  # and it cannot come back
            again = await PhoneClient.connect(server.ws_url, None, origin=ORIGIN)
            await again.send({"type": "auth", "token": spare_token})
            await asyncio.wait_for(again._reader, 5)
            await again.ws.send("{}")
    finally:
        manage(server, "shell", "-c", models + "Extension.objects.update(enabled=True); Tenant.objects.update(enabled=True)")
        await other.close()
        await client.close()
