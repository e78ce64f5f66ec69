"""Where a device's requests go: this process's switchboard, or the process that owns the call.

The signalling consumer hands every authenticated request to its `Router`. Alone (no cluster:
the in-memory channel layer, `make run`, the consumer tests) it is a thin pass-through to the
switchboard, exactly the single-process path. In a cluster it also:

- keeps the device in the cluster's presence (its card in Redis, removed when the socket closes)
  and, on registration, takes back the device's detached legs owned by other processes;
- places a call elsewhere when this process is full (placement.py); the caller's media then lives
  on that process;
- remembers, per local device, the calls owned by other processes it is a party of (learnt from
  the frames they send, `received`), forwards that call's requests to the owner's inbox, tells
  the owners when the socket closes, and ends those calls for the device (`failed`) when their
  owner dies.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.cluster.placement import pick_node
from zorio_widget.cluster.remote import ClusterDevice
from zorio_widget.protocol.messages import Frame, ProtocolError

if TYPE_CHECKING:
    from zorio_widget.cluster.runtime import Cluster

logger = logging.getLogger(__name__)

REMOTE_CALL_ENDS = ("call.ended",)


class Router:
    """Made by `runtime.get_router()` for the process, or `Router(board)` around a test's board."""

    def __init__(self, board: Switchboard, cluster: Cluster | None = None) -> None:
        """`cluster`: the process's `runtime.Cluster`, None when it has no others."""
        self.board = board
        self.cluster = cluster
        #: Calls owned elsewhere that each local device is a party of: call id -> (node, channel).
        self.remote_calls: defaultdict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        #: The local devices with such calls, by device id.
        self._devices: dict[str, ClusterDevice] = {}
        if cluster is not None:
            cluster.node.handlers["cluster.alive"] = self.on_alive
            cluster.node.depends_on.append(self.owners)
            cluster.node.on_peer_dead.append(self.owner_died)
            cluster.node.on_reaped.append(self.republish)

    # --- presence ---------------------------------------------------------------------------------

    async def register(self, device: ClusterDevice) -> list[dict[str, Any]]:
        """Adds the device to presence; returns the summaries of the live calls it takes back."""
        calls = [self.board.summary(leg) for leg in self.board.register(device)]
        if self.cluster is not None:
            self._devices[device.device_id] = device
            try:
                await self.cluster.ready()
                await self.cluster.presence.add(device)
                calls += await self.cluster.hosting.take_stale_legs(device)  # calls owned here
                calls += await self._reattach_elsewhere(device)
            except Exception as exc:  # Redis away: the device works on this process alone meanwhile
                logger.warning("device %s: not registered in the cluster: %r", device.device_id, exc)
        return calls

    async def unregister(self, device: ClusterDevice) -> None:
        if self.cluster is not None:
            self._devices.pop(device.device_id, None)
            try:
                await self.cluster.presence.remove(device)
                await self._tell_owners_gone(device)
            except Exception as exc:  # the owners learn it when they find the socket gone (vouching)
                logger.warning("device %s: the cluster was not told it left: %r", device.device_id, exc)
        await self.board.unregister(device)

    async def _tell_owners_gone(self, device: ClusterDevice) -> None:
        """The owners of the device's remote calls let its legs wait for a reconnect (`cluster.gone`)."""
        owners: defaultdict[str, list[str]] = defaultdict(list)
        for call_id, (_node, channel) in self.remote_calls.pop(device.device_id, {}).items():
            owners[channel].append(call_id)
        card = self._cluster.card(device).as_message()
        for channel, call_ids in owners.items():
            await self._send(channel, {"type": "cluster.gone", "device": card, "call_ids": call_ids})

    async def hand_over(self) -> None:
        """Draining: the sockets here are about to close; the owners of their calls are told first,
        so a client reconnecting to another process finds its calls waiting."""
        for device_id in list(self.remote_calls):
            device = self._devices.get(device_id)
            if device is not None:
                await self._tell_owners_gone(device)

    @property
    def _cluster(self) -> Cluster:
        assert self.cluster is not None, "only in a cluster"
        return self.cluster

    async def _reattach_elsewhere(self, device: ClusterDevice) -> list[dict[str, Any]]:
        """The device's calls owned elsewhere: its detached legs, and the legs whose socket was on a
        process that no longer vouches for it (it died a moment ago; its owner may not know yet).
        Every process owning a call of the extension is asked (`hosting.Hosting.on_reattach`)."""
        cluster = self._cluster
        directory, node = cluster.directory, cluster.node
        detached = await directory.detached_elsewhere(device.tenant_id, device.number)
        by_owner: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        for call_id, owner in detached.items():
            by_owner[owner].append(call_id)
        for owner_id in await directory.owners_of_calls(device.tenant_id, device.number):
            peer = node.peers.get(owner_id)
            if peer is not None:
                by_owner.setdefault((owner_id, peer.channel), [])
        calls: list[dict[str, Any]] = []
        card = cluster.card(device).as_message()
        for (node_id, channel), call_ids in by_owner.items():
            reply = await node.ask(channel, {"type": "cluster.reattach", "device": card, "call_ids": call_ids})
            for summary in (reply or {}).get("calls", []):
                self.remote_calls[device.device_id][summary["call_id"]] = (node_id, channel)
                calls.append(summary)
        return calls

    async def on_alive(self, message: dict[str, Any]) -> None:
        """An owner asks which of the named devices still have their socket here."""
        await self._cluster.node.reply(message, alive=[d for d in message["device_ids"] if d in self._devices])

    async def republish(self) -> None:
        """This node was reaped while alive: its devices' presence is written again."""
        for device in list(self._devices.values()):
            await self._cluster.presence.add(device)

    # --- requests ---------------------------------------------------------------------------------

    async def create_call(self, device: ClusterDevice, frame: Frame) -> None:
        board = self.board
        if not board.accepting:
            raise ProtocolError("draining", req_id=frame.req_id)
        if self._full() and await self._place_elsewhere(device, frame):
            return
        try:
            await board.create_call(device, frame)
        except ProtocolError as exc:
            # Filled meanwhile by calls created at the same time (each checked before taking its slot).
            if exc.code != "capacity" or not self._full() or not await self._place_elsewhere(device, frame):
                raise

    def _full(self) -> bool:
        capacity = self.board.capacity
        return self.cluster is not None and capacity.in_use >= capacity.limit

    async def _place_elsewhere(self, device: ClusterDevice, frame: Frame) -> bool:
        """Sends the call to the live node with the most room (placement.py); False when none has any."""
        target = await pick_node(self._cluster.node)
        if target is None:
            return False
        logger.info("device %s: this process is full; the call is placed on node %s", device.device_id, target.node_id)
        await self._send(target.channel, {"type": "cluster.create", "device": self._cluster.card(device).as_message(),
                                          "frame": {"type": frame.type, "data": frame.data}})
        return True

    async def on_leg(self, device: ClusterDevice, frame: Frame) -> None:
        """A request naming one of the device's calls: done here, or sent to the call's owner."""
        owner = self.remote_calls.get(device.device_id, {}).get(frame.call_id or "") if self.cluster else None
        if owner is not None:
            await self._send(owner[1], {"type": "cluster.request", "device": self._cluster.card(device).as_message(),
                                        "frame": {"type": frame.type, "data": frame.data}})
            return
        await self.board.handle(self.board.leg_for(device, frame), frame)

    def received(self, device: ClusterDevice, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Server messages of calls owned elsewhere (`cluster.frames`): what to send the socket."""
        frames: list[dict[str, Any]] = message["frames"]
        owner = (str(message["node"]), str(message["owner"]))
        calls = self.remote_calls[device.device_id]
        for frame in frames:
            call_id = frame.get("call_id")
            if not call_id:
                continue
            if frame["type"] in REMOTE_CALL_ENDS or (frame["type"] == "error" and frame.get("code") == "unknown_call"):
                calls.pop(call_id, None)
            elif frame["type"] != "error":
                calls[call_id] = owner
        if not calls:
            self.remote_calls.pop(device.device_id, None)
        return frames

    # --- owners going away -------------------------------------------------------------------

    def owners(self) -> set[str]:
        """The nodes owning calls local devices are parties of."""
        return {node for calls in list(self.remote_calls.values()) for node, _channel in calls.values()}

    async def owner_died(self, node_id: str) -> None:
        """The owner of some of the local devices' calls died: those calls are over (`failed`)."""
        for device_id, calls in list(self.remote_calls.items()):
            lost = [call_id for call_id, (owner, _channel) in calls.items() if owner == node_id]
            device = self._devices.get(device_id)
            for call_id in lost:
                del calls[call_id]
                if device is not None:
                    await device.send_frame({"type": "call.ended", "call_id": call_id, "reason": "failed"})
            if not calls:
                self.remote_calls.pop(device_id, None)
            if lost:
                logger.warning("device %s: %d call(s) lost with node %s", device_id, len(lost), node_id)

    async def _send(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await self._cluster.node.send(channel, message)
        except Exception as exc:
            logger.warning("cluster: could not send %s: %r", message.get("type"), exc)
            raise ProtocolError("server_error", "Another server process could not be reached.") from exc
