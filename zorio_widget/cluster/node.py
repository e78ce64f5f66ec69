"""This process as a member of the cluster: its heartbeat, its view of the others, its inbox.

Each process (a *node*, named by this start's `ownership.INSTANCE_ID`, so a restart is a new node)
announces itself every `heartbeat_s` in Redis: its record (channel, name, load, limit, draining)
with a TTL of `dead_after_s`, and its score in the `nodes` sorted set. From the same round trip it
learns who else is alive and who went silent:

- a node silent for `dead_after_s` is dead: whoever first takes its reaping key closes its call
  records and clears its fields (`reaper.py`) within `dead_after_s` + one heartbeat (< 30 s);
- every node also checks the nodes it depends on (owners of its sockets' calls, processes of its
  calls' remote parties) and tells the listeners (`on_peer_dead`) when one is gone, so survivors'
  parties hear `call.ended` `failed` and calls here let go of parties whose socket died with it;
- a node that finds itself reaped (it stalled longer than `dead_after_s`) ends its own calls,
  whose records are closed already, and joins again.

Its inbox is a channel-layer channel of its own (`channel`): requests other processes forward for
calls owned here, calls placed here by a full process, replies to its own questions (`ask`).
Messages for one device are handled in the order they came, each as its own task.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from channels.layers import BaseChannelLayer
from redis.asyncio import Redis

from zorio_widget.cluster.keys import Keys
from zorio_widget.cluster.remote import send_message

logger = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
DEAD_AFTER_S = 10.0
"""A node silent this long is dead (its record expires): with the heartbeat, its calls are closed
well within the 30 s the design promises, while a stall of a few seconds (a GC, a busy machine)
does not declare a live node dead."""
ASK_TIMEOUT_S = 3.0
FORGET_DEAD_AFTER_S = 3600.0

Handler = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class NodeInfo:
    """Another node's record, as its last heartbeat wrote it."""

    node_id: str
    channel: str
    name: str
    load: int
    limit: int
    draining: bool

    @property
    def spare(self) -> int:
        return 0 if self.draining else max(0, self.limit - self.load)

    @classmethod
    def from_json(cls, node_id: str, raw: str | bytes) -> NodeInfo:
        data = json.loads(raw)
        return cls(node_id, str(data["channel"]), str(data["name"]), int(data["load"]), int(data["limit"]),
                   bool(data["draining"]))


class Node:
    def __init__(self, *, redis: Redis, layer: BaseChannelLayer, keys: Keys, node_id: str, name: str,
                 load: Callable[[], tuple[int, int]], heartbeat_s: float = HEARTBEAT_S,
                 dead_after_s: float = DEAD_AFTER_S) -> None:
        """`load()`: this process's calls in use and its limit (`CallCapacity`)."""
        self.redis = redis
        self.layer = layer
        self.keys = keys
        self.node_id = node_id
        self.name = name
        self._load = load
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self.channel = ""
        self.draining = False
        #: The other live nodes, as their records said at the last heartbeat.
        self.peers: dict[str, NodeInfo] = {}
        #: Nodes known dead (by id), with when it was noticed.
        self.dead: dict[str, float] = {}
        #: Who to ask, at each heartbeat, which nodes something here depends on.
        self.depends_on: list[Callable[[], set[str]]] = []
        #: Told (as a task) of each node found dead that something here depended on.
        self.on_peer_dead: list[Callable[[str], Coroutine[Any, Any, None]]] = []
        #: Told of each silent node, to close its calls (`reaper.Reaper.reap`).
        self.on_silent: list[Callable[[str], Coroutine[Any, Any, None]]] = []
        #: Told when this node finds it was reaped while alive (it stalled too long).
        self.on_reaped: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self.handlers: dict[str, Handler] = {}
        self._mourned: set[str] = set()
        self._asks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._started: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"<Node {self.node_id} {self.name}>"

    # --- life -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Joins the cluster (first heartbeat done) and starts reading the inbox; idempotent."""
        if self._started is not None:
            await self._started.wait()
            return
        self._started = asyncio.Event()
        # The default prefix: channels_redis reads all of a process's channels through one key per
        # prefix, and one reader at a time, so a channel of another prefix would starve the consumers.
        self.channel = await self.layer.new_channel()
        await self.beat()
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._heartbeat(), name="zorio.cluster.heartbeat"),
                       loop.create_task(self._inbox(), name="zorio.cluster.inbox")]
        self._started.set()
        logger.info("cluster: node %s (%s) joined, %d other node(s) alive", self.node_id, self.name, len(self.peers))

    @property
    def started(self) -> bool:
        return self._started is not None and self._started.is_set()

    async def stop(self) -> None:
        """Stops the heartbeat and the inbox (leaving: `runtime.Cluster.leave`)."""
        loops, self._loops = self._loops, []
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    # --- heartbeat and the others -------------------------------------------------------------

    def record(self) -> str:
        load, limit = self._load()
        return json.dumps({"channel": self.channel, "name": self.name, "load": load, "limit": limit,
                           "draining": self.draining}, separators=(",", ":"))

    async def publish_record(self) -> None:
        """Writes this node's record now (its load or draining changed)."""
        if self.started:
            await self.redis.set(self.keys.node(self.node_id), self.record(), px=int(self.dead_after_s * 1000))

    async def beat(self) -> None:
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.node(self.node_id), self.record(), px=int(self.dead_after_s * 1000))
        pipe.zadd(self.keys.nodes, {self.node_id: now})
        pipe.zrangebyscore(self.keys.nodes, now - self.dead_after_s, "+inf")
        pipe.zrangebyscore(self.keys.nodes, "-inf", f"({now - self.dead_after_s}")
        pipe.exists(self.keys.reaping(self.node_id))
        _set, _added, alive, silent, reaped = await pipe.execute()
        alive_ids = [_text(n) for n in alive if _text(n) != self.node_id]
        records = await self.redis.mget([self.keys.node(n) for n in alive_ids]) if alive_ids else []
        self.peers = {n: NodeInfo.from_json(n, raw) for n, raw in zip(alive_ids, records, strict=True) if raw}
        silent_ids = [_text(n) for n in silent]
        for node_id in silent_ids:
            self.dead.setdefault(node_id, now)
        for node_id in self.peers:  # back after a stall (it rejoined)
            self.dead.pop(node_id, None)
        self.dead = {n: at for n, at in self.dead.items() if now - at < FORGET_DEAD_AFTER_S}
        self._mourned &= set(self.dead)
        if reaped:
            logger.error("cluster: node %s was declared dead by the others (stalled > %.0f s); rejoining",
                         self.node_id, self.dead_after_s)
            await self.redis.delete(self.keys.reaping(self.node_id))
            for reaped_listener in self.on_reaped:
                self.spawn(reaped_listener())
        self._check_dependencies()
        for node_id in silent_ids:
            for silent_listener in self.on_silent:
                self.spawn(silent_listener(node_id))

    def is_alive(self, node_id: str) -> bool:
        """Whether `node_id` is this node or a live one (unknown nodes, just started, count as alive)."""
        return node_id == self.node_id or node_id not in self.dead

    def _check_dependencies(self) -> None:
        needed: set[str] = set()
        for depends_on in self.depends_on:
            needed |= depends_on()
        for node_id in needed - {self.node_id} - self._mourned:
            if node_id not in self.peers:
                self.dead.setdefault(node_id, time.time())
                self._mourned.add(node_id)
                logger.warning("cluster: node %s is gone; its calls and parties here are let go", node_id)
                for listener in self.on_peer_dead:
                    self.spawn(listener(node_id))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.beat()
            except Exception:  # Redis away for a moment: the next beat tries again
                logger.exception("cluster: heartbeat failed")

    # --- messages ---------------------------------------------------------------------------------

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        await send_message(self.layer, channel, message)

    async def ask(self, channel: str, message: dict[str, Any], timeout_s: float = ASK_TIMEOUT_S) -> dict[str, Any] | None:
        """Sends `message` to another node and waits for its reply (None when none came in time)."""
        ask_id = secrets.token_hex(8)
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._asks[ask_id] = reply
        try:
            await send_message(self.layer, channel, {**message, "ask": ask_id, "reply_to": self.channel})
            return await asyncio.wait_for(reply, timeout_s)
        except TimeoutError:
            logger.warning("cluster: no reply to %s within %.0f s", message.get("type"), timeout_s)
            return None
        finally:
            self._asks.pop(ask_id, None)

    async def reply(self, message: dict[str, Any], **answer: Any) -> None:
        await send_message(self.layer, message["reply_to"], {"type": "cluster.reply", "ask": message["ask"], **answer})

    def _take_reply(self, message: dict[str, Any]) -> None:
        waiting = self._asks.get(str(message.get("ask")))
        if waiting is not None and not waiting.done():
            waiting.set_result(message)

    async def _inbox(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            kind = message.get("type")
            if kind == "cluster.reply":
                self._take_reply(message)
                continue
            handler = self.handlers.get(str(kind))
            if handler is None:
                logger.warning("cluster: unknown message %r", kind)
                continue
            self._in_order(str(message.get("device", {}).get("device_id", "")), handler(message))

    def _in_order(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        """Runs `work` as a task after the previous work of the same key (a device's requests)."""
        previous = self._tails.get(key)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await work
            except Exception:
                logger.exception("cluster: handling a message failed")
            finally:
                if self._tails.get(key) is task:
                    del self._tails[key]

        task = asyncio.get_running_loop().create_task(run())
        self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._log_failure)

    def _log_failure(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("cluster: background work failed", exc_info=task.exception())


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
