"""Helpers for the cluster tests: phones on a chosen server of a live cluster, its Redis state.

A `LiveCluster` (tests/live.py `start_cluster`) is several real `python -m zorio_widget.serve`
processes on one fresh PostgreSQL database and one Redis prefix; these tests start their own in
both CI passes (PostgreSQL and Redis run on the machine), whatever the suite's own database.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis

from tests.calls.conftest import ORIGIN
from tests.live import LiveCluster, LiveServer
from tests.ops.conftest import samples
from zorio_widget.client import PhoneClient

CLUSTER_ENV = {"RING_TIMEOUT_S": "15", "REATTACH_GRACE_S": "10"}
"""Short enough for the timeout paths, long enough for a loaded 2-core machine."""

PhoneOn = Callable[[LiveServer, str], "asyncio.Future[PhoneClient]"]


@pytest.fixture
async def phone_on() -> AsyncIterator[PhoneOn]:
    """Opens a registered phone of an extension on one server of the cluster; all closed at the end."""
    clients: list[PhoneClient] = []

    async def open_phone(server: LiveServer, extension: str) -> PhoneClient:
        token = await asyncio.to_thread(server.token, extension)
        client = await PhoneClient.connect(server.ws_url, token, origin=ORIGIN)
        registered = await client.registered()
        assert registered["extension"] == extension, registered
        client.registration = registered  # type: ignore[attr-defined]  # `calls`: what it re-attached
        clients.append(client)
        return client

    yield open_phone  # type: ignore[misc]
    for client in clients:
        await client.close()
    await asyncio.sleep(0.5)  # let the servers see the sockets go before the next test


def redis_of(cluster: LiveCluster) -> "redis.Redis[str]":
    return redis.Redis.from_url(cluster.redis_url, decode_responses=True)


def presence(cluster: LiveCluster, number: str) -> list[dict[str, Any]]:
    """The device cards of an extension in the cluster's presence (any tenant: the demo one)."""
    client = redis_of(cluster)
    try:
        cards = []
        for key in client.scan_iter(f"{cluster.prefix}:cluster:presence:*:{number}"):
            cards += [json.loads(raw) for raw in client.hgetall(key).values()]
        return cards
    finally:
        client.close()


def live_calls_counted(cluster: LiveCluster, pattern: str) -> int:
    """The calls the live nodes count in the Redis hashes `<prefix>:cluster:<pattern>` (node id ->
    calls: lines, quota), all together: 0 once every process gave its lines or slots back."""
    alive = set(nodes(cluster))
    client = redis_of(cluster)
    try:
        return sum(int(count) for key in client.scan_iter(f"{cluster.prefix}:cluster:{pattern}")
                   for node_id, count in client.hgetall(key).items() if node_id in alive)
    finally:
        client.close()


def nodes(cluster: LiveCluster) -> dict[str, dict[str, Any]]:
    """The live nodes' records (node id -> record) as Redis has them now."""
    client = redis_of(cluster)
    try:
        found = {}
        for key in client.scan_iter(f"{cluster.prefix}:cluster:node:*"):
            raw = client.get(key)
            if raw:
                found[key.rsplit(":", 1)[1]] = json.loads(raw)
        return found
    finally:
        client.close()


def node_of(cluster: LiveCluster, server: LiveServer) -> str:
    """The node id of a server (its record carries its NODE_NAME, host:port)."""
    port = server.url.rsplit(":", 1)[1]
    matches = [node_id for node_id, record in nodes(cluster).items() if record["name"].endswith(f":{port}")]
    assert len(matches) == 1, (matches, nodes(cluster))
    return matches[0]


async def scrape(server: LiveServer) -> dict:
    status, body = await asyncio.to_thread(server.get, "/metrics")
    assert status == 200, body
    return samples(body)


def metric(page: dict, name: str, **labels: str) -> float:
    return float(page.get((name, tuple(sorted(labels.items()))), 0.0))


async def wait_until(condition: Callable[[], Any], timeout_s: float, every_s: float = 0.25) -> float:
    """Polls `condition` (sync, run in a thread) until it is true; returns the seconds it took."""
    started = time.monotonic()
    while True:
        if await asyncio.to_thread(condition):
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s:.0f} s")
        await asyncio.sleep(every_s)


def record_of(server: LiveServer, extension: str, call_uuid: str) -> dict[str, Any] | None:
    """The call's record as `GET /api/webphone/calls` lists it to the extension."""
    history = server.get_json("/api/webphone/calls", server.token(extension))
    return next((r for r in history["results"] if r["uuid"] == call_uuid), None)
