"""/readyz fails when what the process needs does not answer, and while the process drains.

Redis unreachable: a live server whose REDIS_URL points at a closed port (real Daphne, real HTTP):
alive (/healthz 200) but not ready (/readyz 503 naming the channel layer). Draining: the flag the
SIGTERM handling sets (`lifecycle.set_draining`), through Django's ASGI handler in this process.
"""

from collections.abc import Iterator

import pytest
from django.test import AsyncClient

from tests.live import LiveServer, free_port, start_live_server
from tests.ops.conftest import get_json
from zorio_widget.ops import lifecycle, readiness

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def server_without_redis() -> Iterator[LiveServer]:
    server = start_live_server({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    yield server
    server.stop()


@pytest.mark.live
def test_unreachable_redis_fails_readiness_not_liveness(server_without_redis: LiveServer) -> None:
    assert get_json(f"{server_without_redis.url}/healthz") == (200, {"status": "ok"})
    status, body = get_json(f"{server_without_redis.url}/readyz")
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"].startswith("error: ")  # the class only; the address is in the log
    assert "127.0.0.1" not in body["checks"]["channel_layer"]


@pytest.fixture
def draining() -> Iterator[None]:
    lifecycle.set_draining()
    yield
    lifecycle.clear_draining()


@pytest.mark.django_db(transaction=True)
async def test_readyz_is_503_while_draining_and_healthz_stays_200(draining: None) -> None:
    client = AsyncClient()
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining", "checks": {"database": "ok", "channel_layer": "ok"}}
    assert (await client.get("/healthz")).status_code == 200
    lifecycle.clear_draining()
    assert (await client.get("/readyz")).status_code == 200


async def test_a_check_that_hangs_times_out_and_is_named() -> None:
    async def hangs() -> None:
        import asyncio

        await asyncio.sleep(60)

    async def fine() -> None:
        return None

    async def breaks() -> None:
        raise ConnectionRefusedError("[Errno 111] 10.0.0.5:6379")

    results = await readiness.run_checks({"slow": hangs, "ok": fine, "broken": breaks}, timeout_s=0.2)
    assert results == {"slow": "timeout", "ok": "ok", "broken": "error: ConnectionRefusedError"}
