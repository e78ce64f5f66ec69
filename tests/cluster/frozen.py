"""A WebSocket client that stops answering: a frozen or discarded tab, as the server sees it.

It speaks just enough of RFC 6455 by hand (the handshake, masked text frames out, unmasked frames
in) to authenticate and read `registered`; `freeze()` then stops reading the socket altogether, so
the server's pings are never answered with a pong (a library client would answer them for us).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any
from urllib.parse import urlparse


class FrozenTab:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, ws_url: str, token: str, origin: str) -> FrozenTab:
        url = urlparse(ws_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {url.path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: {origin}\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        tab = cls(reader, writer)
        await tab.send({"type": "auth", "token": token})
        return tab

    async def send(self, frame: dict[str, Any]) -> None:
        payload = json.dumps(frame).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        self.writer.write(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        await self.writer.drain()

    async def receive(self) -> tuple[int, bytes]:
        """One frame from the server: (opcode, payload)."""
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(length)

    async def expect(self, msg_type: str, timeout_s: float = 10.0) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            while True:
                opcode, payload = await self.receive()
                if opcode == 0x1:
                    frame = json.loads(payload)
                    if frame.get("type") == msg_type:
                        return dict(frame)
        return await asyncio.wait_for(read(), timeout_s)

    def freeze(self) -> None:
        """From now on nothing is read or sent: pings pile up unanswered in the socket buffer."""

    def close(self) -> None:
        self.writer.close()
