"""The cluster's answers to the switchboard's questions, from Redis (`calls.directory.Directory`).

- Devices elsewhere: the extension's presence hash (device id -> card) minus this node's own
  and dead nodes' entries, each as a `RemoteDevice`. One HGETALL per ring.
- Calls elsewhere: the extension's lines hash (node id -> live calls there involving it), summed
  over the other live nodes. One HGETALL per question (is the extension busy?). This node
  publishes its own counts after each change of its calls (`calls_changed`), coalesced: one
  pipeline per turn of the event loop, with its load in its node record.
- The lines of an extension (calls/lines.py: one without call waiting, the per-extension limit
  with it): one script sums the other live nodes' counts and this node's count after the claim
  (its calls and confirmed claims on the line, plus this one) and, when that stays within the
  limit, sets this node's count to it in the same step, so two processes can never both take the
  last line. That is this node's absolute count, the same the publisher writes next (it counts
  the confirmed claim); the claim is given back by the publisher when the count drops. Claims
  and the publisher's pipelines are written one at a time (`_writing`): a pipeline computed
  before a claim, still in flight, could otherwise land after the script and take the claim back
  out; and a claim's count is taken under that lock, after the claims before it were confirmed.
- Slots: the tenant's and the extension's quota hashes (node id -> calls placed there), checked
  and taken in one script, so two processes can never both take the last slot; given back by
  another. A dead node's shares are skipped (and removed by the reaper).
- Detached legs: call id -> "<owner node> <owner channel>", so a device that reconnects on any
  process finds the calls waiting for it.

A Redis error never fails a call here: the answer is "nothing elsewhere" (and a slot is allowed:
this process's own limits still apply), with a warning in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable

from zorio_widget.calls.device import Device
from zorio_widget.calls.limits import CallLimits
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.cluster.node import Node
from zorio_widget.cluster.remote import DeviceCard, RemoteDevices

logger = logging.getLogger(__name__)

DETACHED_TTL_S = 3600
"""Safety expiry of a detached-legs hash (the owner removes each entry when its grace ends)."""

TAKE_SLOT = """
local function total(key)
  local sum = 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local skip = false
    for j = 4, #ARGV do
      if fields[i] == ARGV[j] then skip = true end
    end
    if not skip then sum = sum + tonumber(fields[i + 1]) end
  end
  return sum
end
if total(KEYS[1]) >= tonumber(ARGV[2]) then return 1 end
if total(KEYS[2]) >= tonumber(ARGV[3]) then return 2 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('SADD', KEYS[3], KEYS[1], KEYS[2])
return 0
"""
"""KEYS: tenant quota, extension quota, the node's owned set; ARGV: node id, tenant limit,
extension limit, then the ids of dead nodes whose shares do not count."""

CLAIM_LINE = """
local sum = tonumber(ARGV[3])
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local skip = fields[i] == ARGV[1]
  for j = 4, #ARGV do
    if fields[i] == ARGV[j] then skip = true end
  end
  if not skip then sum = sum + tonumber(fields[i + 1]) end
end
if sum > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], KEYS[1])
return 1
"""
"""KEYS: the extension's lines hash, the node's owned set; ARGV: node id, the extension's lines
(the limit), this node's count with the claim, then the ids of dead nodes whose counts do not
count. 1: taken (this node's count is the one given), 0: busy."""

UNKNOWN = -1
"""What this node's published count of a line is while a claim's answer is awaited (or lost): it
differs from every real count, so the next publication writes the line's count afresh."""

GIVE_SLOT = """
for i = 1, 2 do
  if redis.call('HINCRBY', KEYS[i], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 0
"""


class RedisDirectory:
    def __init__(self, node: Node, devices: RemoteDevices, board: Switchboard | None = None) -> None:
        self.node = node
        self.devices = devices
        self.board = board
        self._take = node.redis.register_script(TAKE_SLOT)
        self._give = node.redis.register_script(GIVE_SLOT)
        self._claim = node.redis.register_script(CLAIM_LINE)
        #: Held while a claim or a publication of this node's lines is on its way to Redis.
        self._writing = asyncio.Lock()
        self._published: Counter[tuple[int, str]] = Counter()
        self._published_load: tuple[int, int] | None = None
        self._dirty = False
        self._publishing: asyncio.Task[None] | None = None

    def bind(self, board: Switchboard) -> None:
        self.board = board

    # --- questions ----------------------------------------------------------------------------------

    async def devices_elsewhere(self, tenant_id: int, number: str) -> list[Device]:
        try:
            entries = await self.node.redis.hgetall(self.node.keys.presence(tenant_id, number))
        except Exception as exc:
            logger.warning("cluster: presence of %s not read: %r", number, exc)
            return []
        devices: list[Device] = []
        for raw in entries.values():
            card = DeviceCard.from_json(raw)
            if card.node != self.node.node_id and self.node.is_alive(card.node):
                devices.append(self.devices.of(card))
        return devices

    async def calls_elsewhere(self, tenant_id: int, number: str) -> int:
        try:
            counts = await self.node.redis.hgetall(self.node.keys.lines(tenant_id, number))
        except Exception as exc:
            logger.warning("cluster: busy state of %s not read: %r", number, exc)
            return 0
        return sum(int(count) for node_id, count in counts.items()
                   if _text(node_id) != self.node.node_id and self.node.is_alive(_text(node_id)))

    async def claim_line(self, tenant_id: int, number: str, limit: int = 1) -> bool:
        line, node = (tenant_id, number), self.node
        try:
            async with self._writing:
                count = (self.board.lines()[line] if self.board is not None else 0) + 1
                before, self._published[line] = self._published[line], UNKNOWN
                taken = await self._claim(keys=[node.keys.lines(tenant_id, number), node.keys.owned(node.node_id)],
                                          args=[node.node_id, limit, count, *node.dead])
                self._published[line] = count if taken else before
        except Exception as exc:
            logger.warning("cluster: line of %s not claimed across the cluster: %r", number, exc)
            return True  # decided from what this process knows: its calls left a line free
        finally:
            if self._published[line] == UNKNOWN:  # the script may have run: the count is written afresh
                self.calls_changed()
        return bool(taken)

    async def owners_of_calls(self, tenant_id: int, number: str) -> list[str]:
        """The other live nodes owning live calls that involve the extension."""
        counts = await self.node.redis.hgetall(self.node.keys.lines(tenant_id, number))
        return [_text(node_id) for node_id, count in counts.items() if int(count) > 0
                and _text(node_id) != self.node.node_id and self.node.is_alive(_text(node_id))]

    async def take_slot(self, tenant_id: int, number: str, limits: CallLimits) -> str | None:
        keys = self.node.keys
        try:
            refused = await self._take(
                keys=[keys.tenant_quota(tenant_id), keys.extension_quota(tenant_id, number), keys.owned(self.node.node_id)],
                args=[self.node.node_id, limits.per_tenant, limits.per_extension, *self.node.dead])
        except Exception as exc:
            logger.warning("cluster: call limits not checked across the cluster: %r", exc)
            return None
        if refused == 1:
            return f"Your organisation has reached its limit of {limits.per_tenant} live calls."
        if refused == 2:
            return f"This extension has reached its limit of {limits.per_extension} live calls."
        return None

    def give_slot(self, tenant_id: int, number: str) -> None:
        keys = self.node.keys
        self.node.spawn(self._quietly(self._give(
            keys=[keys.tenant_quota(tenant_id), keys.extension_quota(tenant_id, number)], args=[self.node.node_id])))

    # --- what the others read of this node ------------------------------------------------------

    def calls_changed(self) -> None:
        self._dirty = True
        if self._publishing is None or self._publishing.done():
            self._publishing = asyncio.get_running_loop().create_task(self._publish())

    async def _publish(self) -> None:
        """Writes what changed of this node's lines and load, until nothing more changed."""
        while self._dirty and self.board is not None:
            await asyncio.sleep(0)  # coalesce the rest of this turn's changes
            self._dirty = False
            try:
                async with self._writing:  # counted and written after any claim before it
                    await self._write_changes(self.board)
            except Exception as exc:
                logger.warning("cluster: busy state not published: %r", exc)
                self._dirty = True
                await asyncio.sleep(self.node.heartbeat_s)

    async def _write_changes(self, board: Switchboard) -> None:
        lines, load = board.lines(), (board.capacity.in_use, board.capacity.limit)
        changed = [key for key in set(lines) | set(self._published) if lines[key] != self._published[key]]
        if not changed and load == self._published_load:
            return
        keys, node_id = self.node.keys, self.node.node_id
        pipe = self.node.redis.pipeline(transaction=False)
        for tenant_id, number in changed:
            key = keys.lines(tenant_id, number)
            if lines[(tenant_id, number)]:
                pipe.hset(key, node_id, lines[(tenant_id, number)])
                pipe.sadd(keys.owned(node_id), key)
            else:
                pipe.hdel(key, node_id)
        if load != self._published_load:
            pipe.set(keys.node(node_id), self.node.record(), px=int(self.node.dead_after_s * 1000))
        await pipe.execute()
        self._published, self._published_load = lines, load

    def leg_detached(self, tenant_id: int, number: str, call_id: str) -> None:
        keys, node = self.node.keys, self.node
        key = keys.detached(tenant_id, number)

        async def write() -> None:
            pipe = node.redis.pipeline(transaction=False)
            pipe.hset(key, call_id, f"{node.node_id} {node.channel}")
            pipe.expire(key, DETACHED_TTL_S)
            pipe.sadd(keys.owned(node.node_id), key)
            await pipe.execute()

        node.spawn(self._quietly(write()))

    def leg_settled(self, tenant_id: int, number: str, call_id: str) -> None:
        self.node.spawn(self._quietly(self.node.redis.hdel(self.node.keys.detached(tenant_id, number), call_id)))

    async def detached_elsewhere(self, tenant_id: int, number: str) -> dict[str, tuple[str, str]]:
        """The extension's detached legs owned by other live nodes: call id -> (node id, channel)."""
        entries = await self.node.redis.hgetall(self.node.keys.detached(tenant_id, number))
        found = {}
        for call_id, value in entries.items():
            owner, _, channel = _text(value).partition(" ")
            if owner != self.node.node_id and self.node.is_alive(owner):
                found[_text(call_id)] = (owner, channel)
        return found

    @staticmethod
    async def _quietly(work: Awaitable[object]) -> None:
        try:
            await work
        except Exception as exc:
            logger.warning("cluster: a Redis write failed: %r", exc)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
