"""What the call layer needs of a connected client (one WebSocket: a tab or a device)."""

from typing import Any, Protocol


class Device(Protocol):
    device_id: str
    tenant_id: int
    extension_id: int
    number: str
    name: str

    async def send_frame(self, frame: dict[str, Any]) -> None:
        """Sends one server frame; must not raise when the socket is already gone."""
