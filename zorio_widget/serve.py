"""`python -m zorio_widget.serve [-b HOST] [-p PORT] [daphne options]`: the server of `make run` and the image.

Daphne's own CLI and options, serving `zorio_widget.asgi:application`, with one change: its access log is no
longer written straight to stdout (where no logging filter sees it and `/ws/webphone/?token=…`
would be printed in full) but sent as INFO records of the logger `zorio_widget.access`, which
settings.LOGGING passes through `zorio_widget.logging_filters.RedactTokens`. The lines keep
Daphne's format; `-v 0` still turns them off. `--access-log FILE` is refused: point a handler of
`zorio_widget.access` at a file instead.

It also starts the process's background tasks once the loop runs (zorio_widget/ops/lifecycle.py:
event-loop lag, webhook delivery) and counts open WebSockets for `/metrics`.
"""

import asyncio
import logging
import os
import socket
import sys
from datetime import datetime
from typing import Any

from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

from zorio_widget.ops import lifecycle, metrics

APPLICATION = "zorio_widget.asgi:application"
ACCESS_LOGGER = "zorio_widget.access"


class LoggingAccessLog(AccessLogGenerator):
    """Daphne's NCSA-style access entries as records of one logger."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(stream=None)
        self.logger = logger

    def write_entry(self, host: str | None, date: datetime, request: str, status: int | None = None,
                    length: int | None = None, ident: str | None = None, user: str | None = None) -> None:
        self.logger.info('%s %s %s [%s] "%s" %s %s', host, ident or "-", user or "-",
                         date.strftime("%d/%b/%Y:%H:%M:%S"), request, status or "-", length or "-")


class LoggedAccessServer(Server):
    """Daphne's server, given a `LoggingAccessLog` wherever the CLI would log access to a stream,
    and WebSocket limits that are told to the client.

    A frame over `--websocket-max-frame-size` (1 MiB by default) would otherwise make autobahn drop
    the TCP connection (the client sees 1006 and no reason); with `failByDrop` off it closes with
    1009 "message too big" and a reason that names the limit. Calls on that socket are then kept
    through the re-attach grace like after any drop (docs/PROTOCOL.md, README "Signalling protocol").
    """

    def __init__(self, *args: Any, action_logger: Any = None, **kwargs: Any) -> None:
        if action_logger is not None:
            action_logger = LoggingAccessLog(logging.getLogger(ACCESS_LOGGER))
        super().__init__(*args, action_logger=action_logger, **kwargs)
        reactor.callWhenRunning(self._tell_clients_about_limits)  # run() has built ws_factory by then
        reactor.callWhenRunning(self._start_background_tasks)

    def _tell_clients_about_limits(self) -> None:
        self.ws_factory.setProtocolOptions(failByDrop=False)

    def _start_background_tasks(self) -> None:
        # Daphne's reactor runs on asyncio's loop: the tasks start on its first turn.
        asyncio.get_event_loop().call_soon(lifecycle.start_background_tasks)

    def protocol_connected(self, protocol: Any) -> None:
        super().protocol_connected(protocol)
        if isinstance(protocol, WebSocketProtocol):
            metrics.socket_opened()

    def protocol_disconnected(self, protocol: Any) -> None:
        first = "disconnected" not in self.connections.get(protocol, {})  # Daphne may be told twice
        super().protocol_disconnected(protocol)
        if first and isinstance(protocol, WebSocketProtocol):
            metrics.socket_closed()


class ZorioCommandLine(CommandLineInterface):
    description = f"Zorio Webphone server: Daphne serving {APPLICATION}, its access log through logging"
    server_class = LoggedAccessServer

    def __init__(self) -> None:
        super().__init__()
        self.parser.prog = "python -m zorio_widget.serve"

    def run(self, args: list[str]) -> None:
        if APPLICATION not in args:  # the application is implied; naming it (as for daphne) is fine too
            args = [*args, APPLICATION]
        parsed = self.parser.parse_args(args)
        if parsed.access_log:
            self.parser.error(f"--access-log: the access log is the logger {ACCESS_LOGGER!r} (settings.LOGGING)")
        # Record ownership (zorio_widget/calls/ownership.py): each process on a machine needs its own
        # node name, and a restart on the same port is the same node, which closes what it left.
        os.environ.setdefault("NODE_NAME", f"{socket.gethostname()}:{parsed.port or 8000}")
        super().run(args)


if __name__ == "__main__":
    ZorioCommandLine().run(sys.argv[1:])
