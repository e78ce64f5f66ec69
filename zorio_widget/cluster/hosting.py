"""The owner's side: what this process does for devices whose sockets are on other processes.

A call's media lives here; its parties' sockets may be anywhere. Their processes send this
node's inbox (node.py) what their devices ask of calls owned here, and this module does it with
the same call layer the local consumer uses, the party being a `RemoteDevice`:

- `cluster.request`: a request on a leg (answer, hang up, hold, DTMF, an ICE candidate, an SDP
  offer...), refused with `unknown_call` / `forbidden` exactly as for a local socket when the leg
  is not that device's; any `ProtocolError` goes back to the device as its `error` frame;
- `cluster.create`: a call placed here by a device of a full process (placement.py); the caller's
  media, and so the call, then lives here;
- `cluster.gone`: the device's socket closed: its legs here wait out their re-attach grace;
- `cluster.reattach`: the device reconnected (to any process) and takes its detached legs back,
  and its connected legs whose old socket's process no longer vouches for that socket (the
  process died: the reconnect is usually faster than its heartbeat's expiry); the reply carries
  each call's summary for its `registered` frame.

And when a node whose devices were parties here dies, those parties are let go the same way
(`node_died`), so a call whose callee's process crashed waits for the callee to reconnect.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from zorio_widget.calls.device import Device
from zorio_widget.calls.session import Leg
from zorio_widget.calls.states import CallState
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.cluster.node import Node
from zorio_widget.cluster.remote import DeviceCard, RemoteDevice, RemoteDevices
from zorio_widget.protocol.messages import Frame, ProtocolError

logger = logging.getLogger(__name__)

VOUCH_TIMEOUT_S = 1.5
"""How long a process has to say which of its sockets still live; silence means it died."""


class Hosting:
    def __init__(self, node: Node, board: Switchboard, devices: RemoteDevices) -> None:
        self.node = node
        self.board = board
        self.devices = devices
        node.handlers.update({
            "cluster.request": self.on_request,
            "cluster.create": self.on_create,
            "cluster.gone": self.on_gone,
            "cluster.reattach": self.on_reattach,
        })
        node.depends_on.append(devices.on_nodes)
        node.on_peer_dead.append(self.node_died)

    async def on_request(self, message: dict[str, Any]) -> None:
        device = self.devices.of(DeviceCard.from_message(message["device"]))
        frame = Frame(str(message["frame"]["type"]), dict(message["frame"]["data"]))
        try:
            leg = self.board.legs.get(frame.call_id or "")
            if leg is None:
                raise ProtocolError("unknown_call", req_id=frame.req_id, call_id=frame.call_id)
            if leg.endpoint is not device:
                raise ProtocolError("forbidden", "This call belongs to another device or tenant.",
                                    req_id=frame.req_id, call_id=frame.call_id)
            await self.board.handle(leg, frame)
        except ProtocolError as exc:
            await device.send_frame(exc.as_frame())
        except Exception:
            logger.exception("cluster: a forwarded %s failed", frame.type)
            await device.send_frame(ProtocolError("server_error", req_id=frame.req_id, call_id=frame.call_id).as_frame())

    async def on_create(self, message: dict[str, Any]) -> None:
        device = self.devices.of(DeviceCard.from_message(message["device"]))
        frame = Frame("call.create", dict(message["frame"]["data"]))
        try:
            await self.board.create_call(device, frame)
        except ProtocolError as exc:
            await device.send_frame(exc.as_frame())
        except Exception:
            logger.exception("cluster: a call placed here by %s failed", device)
            await device.send_frame(ProtocolError("server_error", req_id=frame.req_id).as_frame())

    async def on_gone(self, message: dict[str, Any]) -> None:
        device = self.devices.get(str(message["device"]["device_id"]))
        if device is not None:
            await self._let_go(device)

    async def on_reattach(self, message: dict[str, Any]) -> None:
        """The device takes back its detached legs named in the message, and the connected legs of
        its extension whose socket's process no longer vouches for them (`stale_legs`)."""
        device = self.devices.of(DeviceCard.from_message(message["device"]))
        calls = []
        for call_id in message["call_ids"]:
            leg = self.board.reattach_leg(str(call_id), device)
            if leg is not None:
                calls.append(self.board.summary(leg))
        calls += await self.take_stale_legs(device)
        await self.node.reply(message, calls=calls)

    async def take_stale_legs(self, device: Device) -> list[dict[str, Any]]:
        """`device` (here or elsewhere) takes over the extension's stale legs (`stale_legs`); returns
        their summaries."""
        calls = []
        for leg in await self.stale_legs(device):
            logger.info("call %s: leg %s moves to device %s (its socket's process is gone)", leg.session.uuid,
                        leg.call_id, device.device_id)
            old = leg.endpoint
            if isinstance(old, RemoteDevice):
                old.gone = True
            leg.reattach(device)
            calls.append(self.board.summary(leg))
        return calls

    async def stale_legs(self, device: Device) -> list[Leg]:
        """Connected legs of `device`'s extension whose party's socket was on another process that,
        asked now, does not vouch for it: that process died (faster than its heartbeat tells) or
        the socket closed there a moment ago. A live socket keeps its call."""
        by_node: defaultdict[str, list[tuple[Leg, RemoteDevice]]] = defaultdict(list)
        for leg in list(self.board.legs.values()):
            endpoint = leg.endpoint
            if (isinstance(endpoint, RemoteDevice) and not endpoint.gone and endpoint is not device
                    and (endpoint.tenant_id, endpoint.number) == (device.tenant_id, device.number)
                    and leg.session.state == CallState.ANSWERED):
                by_node[endpoint.node].append((leg, endpoint))
        stale: list[Leg] = []
        for node_id, parties in by_node.items():
            peer = self.node.peers.get(node_id)
            reply = None
            if peer is not None:
                reply = await self.node.ask(peer.channel, {"type": "cluster.alive",
                                                           "device_ids": [party.device_id for _, party in parties]},
                                            timeout_s=VOUCH_TIMEOUT_S)
            alive = set((reply or {}).get("alive", []))
            stale += [leg for leg, party in parties if party.device_id not in alive]
        return stale

    async def node_died(self, node_id: str) -> None:
        for device in self.devices.of_node(node_id):
            await self._let_go(device)

    async def _let_go(self, device: RemoteDevice) -> None:
        device.gone = True
        await self.board.release(device)
