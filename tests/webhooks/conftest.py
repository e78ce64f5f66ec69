"""A partner's webhook receiver stand-in: a real HTTP server in a thread that checks signatures.

Each `Receiver` answers from a script (status codes in order, then its last one; `HANG` holds the
request without answering), verifies `Zorio-Signature` with the secret it was given, and keeps
every request it got.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zorio_widget.webhooks import signing

HANG = -1


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str
    script: list[int]
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _released: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> int:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.requests)


def _serve(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = signing.verify(receiver.secret, self.headers.get(signing.SIGNATURE_HEADER, ""), body)
            receiver.requests.append(Received(time.monotonic(), dict(self.headers), body, ok))
            status = receiver.answer()
            if status == HANG:
                receiver._released.wait(60)
                return
            status = status if ok else 400  # a real receiver refuses what it cannot verify
            self.send_response(status)
            for name, value in receiver.extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/zorio"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def make(secret: str, script: list[int] | None = None, **kwargs) -> Receiver:
        receiver = Receiver(secret, list(script or [200]), **kwargs)
        servers.append((_serve(receiver), receiver))
        return receiver

    yield make
    for server, receiver in servers:
        receiver._released.set()
        server.shutdown()
        server.server_close()
