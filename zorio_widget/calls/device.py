"""A browser endpoint: one connected client (one WebSocket: a tab or a device) of an extension."""

from typing import Protocol

from zorio_widget.calls.legs import Endpoint


class Device(Endpoint, Protocol):
    """Implemented by the signalling consumer; the switchboard's presence is made of these."""

    @property
    def device_id(self) -> str: ...

    @property
    def extension_id(self) -> int: ...
