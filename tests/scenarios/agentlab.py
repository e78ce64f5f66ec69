"""`RedisAgents` stores on the machine's Redis (the cluster tests' database), each set of them
under a key prefix of its own, as the processes of one cluster see it; every key removed after."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from tests.live import CLUSTER_REDIS
from zorio_widget.cluster.keys import Keys
from zorio_widget.scenarios.agentstore import RedisAgents


class Nodes:
    """The cluster's liveness as the stores see it: every node alive unless the test says dead."""

    def __init__(self) -> None:
        self.dead: set[str] = set()

    def alive(self, node_id: str) -> Callable[[str], bool]:
        return lambda other: other == node_id or other not in self.dead

    def dead_ids(self) -> Callable[[], Iterable[str]]:
        return lambda: list(self.dead)


@asynccontextmanager
async def redis_cluster() -> AsyncIterator[tuple[Redis, Keys, Nodes]]:
    redis = Redis.from_url(CLUSTER_REDIS, decode_responses=True)
    keys = Keys(f"zt{secrets.token_hex(4)}")
    try:
        yield redis, keys, Nodes()
    finally:
        async for key in redis.scan_iter(f"{keys.prefix}:*"):
            await redis.delete(key)
        await redis.aclose()


def store_of(redis: Redis, keys: Keys, nodes: Nodes, node_id: str) -> RedisAgents:
    return RedisAgents(redis, keys, node_id, nodes.alive(node_id), nodes.dead_ids())


@asynccontextmanager
async def redis_agents(node_id: str) -> AsyncIterator[RedisAgents]:
    """One process's store, alone in its cluster."""
    async with redis_cluster() as (redis, keys, nodes):
        yield store_of(redis, keys, nodes, node_id)
