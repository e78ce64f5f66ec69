"""`python -m zorio_widget.serve [-b HOST] [-p PORT] [daphne options]`: the server of `make run` and the image.

Daphne's own CLI and options, serving `zorio_widget.asgi:application`, with one change: its access log is no
longer written straight to stdout (where no logging filter sees it and `/ws/webphone/?token=…`
would be printed in full) but sent as INFO records of the logger `zorio_widget.access`, which
settings.LOGGING passes through `zorio_widget.logging_filters.RedactTokens`. The lines keep
Daphne's format; `-v 0` still turns them off. `--access-log FILE` is refused: point a handler of
`zorio_widget.access` at a file instead.
"""

import logging
import sys
from datetime import datetime
from typing import Any

from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.server import Server

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
    """Daphne's server, given a `LoggingAccessLog` wherever the CLI would log access to a stream."""

    def __init__(self, *args: Any, action_logger: Any = None, **kwargs: Any) -> None:
        if action_logger is not None:
            action_logger = LoggingAccessLog(logging.getLogger(ACCESS_LOGGER))
        super().__init__(*args, action_logger=action_logger, **kwargs)


class ZorioCommandLine(CommandLineInterface):
    description = f"Zorio Webphone server: Daphne serving {APPLICATION}, its access log through logging"
    server_class = LoggedAccessServer

    def __init__(self) -> None:
        super().__init__()
        self.parser.prog = "python -m zorio_widget.serve"

    def run(self, args: list[str]) -> None:
        if APPLICATION not in args:  # the application is implied; naming it (as for daphne) is fine too
            args = [*args, APPLICATION]
        if self.parser.parse_args(args).access_log:
            self.parser.error(f"--access-log: the access log is the logger {ACCESS_LOGGER!r} (settings.LOGGING)")
        super().run(args)


if __name__ == "__main__":
    ZorioCommandLine().run(sys.argv[1:])
