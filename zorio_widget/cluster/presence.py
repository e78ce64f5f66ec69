"""The cluster's presence: which devices of which extension are registered on which process.

One Redis hash per extension (device id -> the device's card: its node and consumer channel),
written by the device's process when the socket authenticates and removed when it closes. An
entry is only believed while its node lives: the node's record carries a TTL its heartbeat renews
(node.py), readers skip the cards of dead nodes, and the reaper removes them. So a device's
presence lasts exactly as long as its socket and its process: a tab that stops answering
WebSocket pings is closed by the server (zorio_widget/serve.py) and leaves presence with it.
"""

from __future__ import annotations

import logging

from zorio_widget.cluster.node import Node
from zorio_widget.cluster.remote import ClusterDevice, DeviceCard

logger = logging.getLogger(__name__)

PRESENCE_TTL_S = 86400
"""Safety expiry of an extension's presence hash, renewed at each registration (entries are
removed one by one when sockets close, and a dead node's by the reaper)."""


class Presence:
    def __init__(self, node: Node) -> None:
        self.node = node

    def card(self, device: ClusterDevice) -> DeviceCard:
        return DeviceCard.of(device, self.node.node_id)

    async def add(self, device: ClusterDevice) -> None:
        keys, node_id = self.node.keys, self.node.node_id
        key = keys.presence(device.tenant_id, device.number)
        pipe = self.node.redis.pipeline(transaction=False)
        pipe.hset(key, device.device_id, self.card(device).to_json())
        pipe.expire(key, PRESENCE_TTL_S)
        pipe.sadd(keys.owned(node_id), key)
        await pipe.execute()

    async def remove(self, device: ClusterDevice) -> None:
        try:
            await self.node.redis.hdel(self.node.keys.presence(device.tenant_id, device.number), device.device_id)
        except Exception as exc:  # the entry dies with this node's record, or at the next reaping
            logger.warning("cluster: device %s not removed from presence: %r", device.device_id, exc)
