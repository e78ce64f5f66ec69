"""`python -m zorio_widget.serve [-b HOST] [-p PORT] [daphne options]`: the server of `make run` and the image.

Daphne's own CLI and options, serving `zorio_widget.asgi:application`, with one change: its access log is no
longer written straight to stdout (where no logging filter sees it and `/ws/webphone/?token=…`
would be printed in full) but sent as INFO records of the logger `zorio_widget.access`, which
settings.LOGGING passes through `zorio_widget.logging_filters.RedactTokens`. The lines keep
Daphne's format; `-v 0` still turns them off. `--access-log FILE` is refused: point a handler of
`zorio_widget.access` at a file instead.

It also starts the process's background tasks once the loop runs (zorio_widget/ops/lifecycle.py:
event-loop lag, webhook delivery), joins the cluster when there is one (zorio_widget/cluster/),
starts the SIP trunk service on the same loop (zorio_widget/trunks/runtime.py; `SIP_BIND=off`
disables it; stopped, its calls hung up, before the reactor stops) and counts open WebSockets
for `/metrics`.

Stopping: SIGTERM drains (zorio_widget/cluster/drain.py): `/readyz` turns 503 at once, new calls
get `draining`, live calls go on for up to `DRAIN_TIMEOUT_S` and are then ended with their records
closed, and only then does the server stop. A second SIGTERM (or SIGINT) stops it at once.

Dead sockets: the server pings every WebSocket that has been silent for `WS_PING_INTERVAL_S` and
closes it when no pong came within `WS_PING_TIMEOUT_S` (the WebSocket protocol's own ping, which
browsers answer without any page code). With the defaults, a frozen or discarded tab is out of
presence at most 5 + 2 (Daphne checks every 2 s) + 5 = 12 s after its last frame, so a new call
rings the agent's other devices instead of a dead tab. `--ping-interval`/`--ping-timeout` override.
"""

import asyncio
import logging
import os
import signal
import socket
import sys
from datetime import datetime
from typing import Any

from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from zorio_widget.ops import lifecycle, metrics

APPLICATION = "zorio_widget.asgi:application"
ACCESS_LOGGER = "zorio_widget.access"
WS_PING_INTERVAL_S = float(os.environ.get("WS_PING_INTERVAL_S", "5"))
WS_PING_TIMEOUT_S = float(os.environ.get("WS_PING_TIMEOUT_S", "5"))

logger = logging.getLogger("zorio_widget.serve")


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
        reactor.callWhenRunning(self._start_trunks)
        # (the stubs type the global reactor's interface methods with `self` first: ignore)
        reactor.addSystemEventTrigger("before", "shutdown", self._stop_trunks)  # type: ignore[arg-type]
        self._trunks: Any = None
        reactor.callWhenRunning(self._drain_on_sigterm)  # after Twisted's own handlers (during startup)
        self._draining: asyncio.Future[None] | None = None

    def _tell_clients_about_limits(self) -> None:
        self.ws_factory.setProtocolOptions(failByDrop=False)

    def _start_background_tasks(self) -> None:
        # Daphne's reactor runs on asyncio's loop: the tasks start on its first turn.
        loop = asyncio.get_event_loop()
        loop.call_soon(lifecycle.start_background_tasks)
        loop.call_soon(lambda: asyncio.ensure_future(_join_cluster()))

    def _drain_on_sigterm(self) -> None:
        loop = asyncio.get_event_loop()
        signal.signal(signal.SIGTERM, lambda _signum, _frame: loop.call_soon_threadsafe(self._sigterm))

    def _sigterm(self) -> None:
        if self._draining is not None:
            logger.warning("SIGTERM again: stopping now")
            reactor.stop()  # type: ignore[misc]  # (the stubs type the global reactor's methods with `self`)
            return
        lifecycle.set_draining()
        self._draining = asyncio.ensure_future(self._drain_then_stop())

    async def _drain_then_stop(self) -> None:
        from django.conf import settings

        from zorio_widget.cluster import drain, runtime

        try:
            await drain.drain(runtime.get_router(), settings.DRAIN_TIMEOUT_S)
            await lifecycle.stop_background_tasks()
        except Exception:
            logger.exception("draining failed; stopping anyway")
        finally:
            logger.info("drained: stopping the server")
            reactor.stop()  # type: ignore[misc]

    def _start_trunks(self) -> None:
        from zorio_widget.trunks.runtime import TrunkRuntime  # Django is set up by now (the application)

        async def start() -> None:
            self._trunks = await TrunkRuntime.start()

        asyncio.get_event_loop().call_soon(lambda: asyncio.ensure_future(start()))

    def _stop_trunks(self) -> Any:
        if self._trunks is None:
            return None
        trunks, self._trunks = self._trunks, None
        return Deferred.fromFuture(asyncio.ensure_future(trunks.stop()))

    def protocol_connected(self, protocol: Any) -> None:
        super().protocol_connected(protocol)
        if isinstance(protocol, WebSocketProtocol):
            metrics.socket_opened()

    def protocol_disconnected(self, protocol: Any) -> None:
        first = "disconnected" not in self.connections.get(protocol, {})  # Daphne may be told twice
        super().protocol_disconnected(protocol)
        if first and isinstance(protocol, WebSocketProtocol):
            metrics.socket_closed()


async def _join_cluster() -> None:
    from zorio_widget.cluster import runtime

    try:
        await runtime.start()
    except Exception:  # Redis not there yet: the first socket tries again
        logger.exception("could not join the cluster at start")


class ZorioCommandLine(CommandLineInterface):
    description = f"Zorio Webphone server: Daphne serving {APPLICATION}, its access log through logging"
    server_class = LoggedAccessServer

    def __init__(self) -> None:
        super().__init__()
        self.parser.prog = "python -m zorio_widget.serve"
        self.parser.set_defaults(ping_interval=WS_PING_INTERVAL_S, ping_timeout=WS_PING_TIMEOUT_S)

    def run(self, args: list[str]) -> None:
        if APPLICATION not in args:  # the application is implied; naming it (as for daphne) is fine too
            args = [*args, APPLICATION]
        parsed = self.parser.parse_args(args)
        if parsed.access_log:
            self.parser.error(f"--access-log: the access log is the logger {ACCESS_LOGGER!r} (settings.LOGGING)")
        # Record ownership (zorio_widget/calls/ownership.py): each process on a machine needs its own
        # node name, and a restart on the same port is the same node, which closes what it left.
        os.environ.setdefault("NODE_NAME", f"{socket.gethostname()}:{parsed.port or 8000}")
        # The server keeps its database connection (settings.py DB_CONN_MAX_AGE; PostgreSQL only).
        os.environ.setdefault("DB_CONN_MAX_AGE", "300")
        super().run(args)


if __name__ == "__main__":
    ZorioCommandLine().run(sys.argv[1:])
