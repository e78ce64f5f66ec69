"""Closing what a dead process left: its open call records and its fields in Redis.

Every live node sees a silent one at its heartbeat (`Node.on_silent`); one of them wins the
reaping key (SET NX) and closes the dead node's open records (`failed`, ended at their last known
activity: `ownership.close_records`, which also queues each `call.ended` webhook), then removes
the dead node's presence entries, busy counts, quota shares and detached legs (the keys listed in
its `owned` set, in one script) and finally its place in `nodes`. The parties on surviving nodes
are told by their own node, which noticed the same death (`Node.on_peer_dead`).
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from django.utils import timezone

from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.ownership import close_records
from zorio_widget.cluster.node import Node

logger = logging.getLogger(__name__)

REAPING_TTL_S = 300
"""How long the reaping key stays: long enough that no second survivor starts over."""

FORGET_NODE = """
local keys = redis.call('SMEMBERS', KEYS[1])
for _, key in ipairs(keys) do
  redis.call('HDEL', key, ARGV[1])
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local value = fields[i + 1]
    if string.find(value, ARGV[2], 1, true) or string.sub(value, 1, #ARGV[3]) == ARGV[3] then
      redis.call('HDEL', key, fields[i])
    end
  end
end
redis.call('DEL', KEYS[1])
return #keys
"""
"""Removes a node's fields from every key it owned: busy and quota fields named by its id,
presence cards naming it as their node, detached legs it owned ("<node id> <channel>")."""


@database_sync_to_async
def close_calls_of(node_id: str) -> int:
    records = list(CallRecord.objects.filter(owner_instance=node_id, ended_at__isnull=True))
    return close_records(records, timezone.now())


class Reaper:
    def __init__(self, node: Node) -> None:
        self.node = node
        self._forget = node.redis.register_script(FORGET_NODE)

    async def reap(self, dead_id: str) -> None:
        """Closes `dead_id`'s calls and state, if this node is the one to do it."""
        node = self.node
        won = await node.redis.set(node.keys.reaping(dead_id), node.node_id, nx=True, ex=REAPING_TTL_S)
        if not won:
            return
        closed = await close_calls_of(dead_id)
        keys = await self.forget(dead_id)
        logger.warning("cluster: node %s is dead: closed %d call record(s) and its state in %d key(s)",
                       dead_id, closed, keys)

    async def forget(self, node_id: str) -> int:
        """Removes every field of `node_id` (a dead node, or this one leaving), its record and its
        place in `nodes`; returns how many keys held its fields."""
        node = self.node
        keys = await self._forget(keys=[node.keys.owned(node_id)], args=[node_id, f'"node":"{node_id}"', f"{node_id} "])
        pipe = node.redis.pipeline(transaction=False)
        pipe.zrem(node.keys.nodes, node_id)
        pipe.delete(node.keys.node(node_id))
        await pipe.execute()
        return int(keys)
