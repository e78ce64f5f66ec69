"""A device registered on another process, as an endpoint of the process that owns the call.

Every registered device is described by a `DeviceCard`: who it is (tenant, extension, number,
name) and where its socket is (its node and the consumer's channel name). The card is what
presence keeps in Redis and what travels with each request a device's process forwards.

On the owner, a leg whose party's socket sits elsewhere has a `RemoteDevice` as its endpoint: the
call layer drives it like the socket itself, and its server messages travel as channel-layer
messages to the consumer (`cluster.frames`, with the owner's node and channel so the consumer knows
where to send that call's requests). The frames sent in one turn of the event loop go in one
message (placing a call sends `call.trying`, `sdp.answer` and its candidates at once): channels_redis
reads all of a process's messages one after the other, so their number is what a burst costs. One `RemoteDevice` per device id at a time (`RemoteDevices`),
so the switchboard's "calls of this device" works by identity as it does for local sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

from zorio_widget.calls.device import Device

logger = logging.getLogger(__name__)

FRAMES_MESSAGE = "cluster.frames"
"""The channel-layer message type a consumer receives server messages of a remote call in (`frames`)."""
FULL_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8)
"""Seconds between the attempts to send to a full channel (all of a process's channels share one
queue in channels_redis, `CHANNEL_CAPACITY`): a process busy for a moment drains it meanwhile."""


async def send_message(layer: BaseChannelLayer, channel: str, message: dict[str, Any]) -> None:
    """`layer.send`, tried again while the receiving process's queue is full (then `ChannelFull`)."""
    for delay in (*FULL_RETRIES, None):
        try:
            await layer.send(channel, message)
            return
        except ChannelFull:
            if delay is None:
                raise
            await asyncio.sleep(delay)


class ClusterDevice(Device, Protocol):
    """A local device as the cluster needs it: a `Device` with the channel its consumer reads."""

    channel_name: str


@dataclass(frozen=True)
class DeviceCard:
    device_id: str
    #: The consumer's channel-layer name (its socket's process reads it).
    channel: str
    #: The id of the node (process) the socket is on.
    node: str
    tenant_id: int
    extension_id: int
    number: str
    name: str

    @classmethod
    def of(cls, device: ClusterDevice, node: str) -> DeviceCard:
        return cls(device.device_id, device.channel_name, node, device.tenant_id, device.extension_id,
                   device.number, device.name)

    def as_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> DeviceCard:
        return cls(str(data["device_id"]), str(data["channel"]), str(data["node"]), int(data["tenant_id"]),
                   int(data["extension_id"]), str(data["number"]), str(data["name"]))

    def to_json(self) -> str:
        return json.dumps(self.as_message(), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> DeviceCard:
        return cls.from_message(json.loads(raw))


class RemoteDevice:
    """A `Device` whose socket is on another process: frames go there through the channel layer."""

    def __init__(self, card: DeviceCard, layer: BaseChannelLayer, owner_node: str, owner_channel: str) -> None:
        self.card = card
        self._layer = layer
        self._envelope = {"type": FRAMES_MESSAGE, "node": owner_node, "owner": owner_channel}
        #: The device's process said its socket closed (or the process died): nothing more is sent.
        self.gone = False
        self._outbox: list[dict[str, Any]] = []
        self._flushing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<RemoteDevice {self.card.device_id} {self.card.number}@{self.card.node}>"

    @property
    def device_id(self) -> str:
        return self.card.device_id

    @property
    def tenant_id(self) -> int:
        return self.card.tenant_id

    @property
    def extension_id(self) -> int:
        return self.card.extension_id

    @property
    def number(self) -> str:
        return self.card.number

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def node(self) -> str:
        return self.card.node

    async def send_frame(self, frame: dict[str, Any]) -> None:
        """Queues the frame; this turn's frames leave together, in order, right after it."""
        if self.gone:
            return
        self._outbox.append(frame)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the rest of this turn's frames
        while self._outbox:
            frames, self._outbox = self._outbox, []
            try:
                await send_message(self._layer, self.card.channel, {**self._envelope, "frames": frames})
            except Exception as exc:  # the channel stays full or Redis is away: lost, the call goes on
                logger.warning("device %s on %s: could not send %s: %r", self.card.device_id, self.card.node,
                               [f.get("type") for f in frames], exc)


class RemoteDevices:
    """The `RemoteDevice` of each device id, kept while a leg holds it (weakly referenced)."""

    def __init__(self, layer: BaseChannelLayer, owner: Callable[[], tuple[str, str]]) -> None:
        """`owner()`: this node's id and inbox channel (known once it has joined)."""
        self._layer = layer
        self._owner = owner
        self._devices: weakref.WeakValueDictionary[str, RemoteDevice] = weakref.WeakValueDictionary()

    def of(self, card: DeviceCard) -> RemoteDevice:
        """The endpoint for `card`'s device: the one legs already use, unless it went away."""
        device = self._devices.get(card.device_id)
        if device is None or device.card != card or device.gone:
            device = RemoteDevice(card, self._layer, *self._owner())
            self._devices[card.device_id] = device
        return device

    def get(self, device_id: str) -> RemoteDevice | None:
        return self._devices.get(device_id)

    def on_nodes(self) -> set[str]:
        """The nodes whose devices are parties of calls here."""
        return {device.node for device in list(self._devices.values()) if not device.gone}

    def of_node(self, node: str) -> list[RemoteDevice]:
        return [device for device in list(self._devices.values()) if device.node == node and not device.gone]
