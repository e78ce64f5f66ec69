"""The process's switchboard and, with the Redis channel layer, its place in the cluster.

`install()` is called once at start-up (zorio_widget/asgi.py) and builds what every socket of the
process shares: the switchboard (from the settings), and when `REDIS_URL` puts the channel layer
on Redis, the `Cluster` around it (node, directory, presence, hosting, reaper) with a redis-py
asyncio client for the cluster's own keys. `get_router()` is the consumers' way in. With the
in-memory channel layer there is no cluster: the router passes everything to the switchboard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from redis.asyncio import Redis

from zorio_widget.calls.ownership import INSTANCE_ID
from zorio_widget.calls.switchboard import Switchboard, switchboard_from_settings, use_switchboard
from zorio_widget.cluster.directory import RedisDirectory
from zorio_widget.cluster.hosting import Hosting
from zorio_widget.cluster.keys import Keys
from zorio_widget.cluster.node import Node
from zorio_widget.cluster.presence import Presence
from zorio_widget.cluster.reaper import Reaper
from zorio_widget.cluster.remote import ClusterDevice, DeviceCard, RemoteDevices
from zorio_widget.cluster.router import Router

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_S = 5.0


@dataclass
class Cluster:
    node: Node
    directory: RedisDirectory
    presence: Presence
    hosting: Hosting
    reaper: Reaper

    def card(self, device: ClusterDevice) -> DeviceCard:
        return self.presence.card(device)

    async def ready(self) -> None:
        """Joins the cluster if not yet done (the server does it at start; a test server may not)."""
        await self.node.start()

    async def leave(self) -> None:
        """A clean exit: no more heartbeat, and this node's record and fields are gone at once."""
        await self.node.stop()
        if self.node.started:
            keys = await self.reaper.forget(self.node.node_id)
            logger.info("cluster: node %s left (its fields removed from %d key(s))", self.node.node_id, keys)


def cluster_enabled() -> bool:
    return str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).endswith("RedisChannelLayer")


def build_cluster(**collaborators: Any) -> tuple[Switchboard, Cluster]:
    layer = get_channel_layer()
    assert layer is not None
    redis = Redis.from_url(settings.REDIS_URL, decode_responses=True, socket_timeout=REDIS_TIMEOUT_S,
                           socket_connect_timeout=REDIS_TIMEOUT_S, health_check_interval=30)
    config: Any = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    keys = Keys(str(config.get("prefix", "zorio")))
    board: Switchboard | None = None

    def load() -> tuple[int, int]:
        return (board.capacity.in_use, board.capacity.limit) if board is not None else (0, 0)

    node = Node(redis=redis, layer=layer, keys=keys, node_id=INSTANCE_ID, name=str(settings.NODE_NAME), load=load)
    devices = RemoteDevices(layer, lambda: (node.node_id, node.channel))
    directory = RedisDirectory(node, devices)
    board = switchboard_from_settings(directory=directory, **collaborators)
    directory.bind(board)
    reaper = Reaper(node)
    node.on_silent.append(reaper.reap)
    cluster = Cluster(node, directory, Presence(node), Hosting(node, board, devices), reaper)
    node.on_reaped.append(lambda: end_calls_of_a_reaped_node(board))
    return board, cluster


async def end_calls_of_a_reaped_node(board: Switchboard) -> None:
    """The others declared this node dead: they closed its records and told the parties."""
    for session in list(board.sessions):
        async with session.lock:
            await session.end("failed")


_router: Router | None = None


def install(**collaborators: Any) -> Router:
    """Builds the process's switchboard (with `collaborators`: `media_factory`...) and router."""
    global _router
    if cluster_enabled():
        board, cluster = build_cluster(**collaborators)
        _router = Router(board, cluster)
        logger.info("cluster: on (Redis channel layer, node %s)", cluster.node.node_id)
    else:
        board = switchboard_from_settings(**collaborators)
        _router = Router(board)
    use_switchboard(board)
    return _router


def get_router() -> Router:
    return _router if _router is not None else install()


async def start() -> None:
    """Joins the cluster now (the server's start), so the others see this node before its first socket."""
    router = get_router()
    if router.cluster is not None:
        await router.cluster.ready()
