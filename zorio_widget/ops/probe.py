"""`python -m zorio_widget.ops.probe [--port P] [--path /healthz]`: a container healthcheck.

Asks this machine's server process for `/healthz` (or `/readyz`) and exits 0 on 200, 1 otherwise.
It sends the first of `ALLOWED_HOSTS` as the Host header (the process refuses other hosts) and
imports nothing of Django, so a check costs a few milliseconds of a fresh interpreter.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys


def probe(port: int, path: str, host_header: str, timeout_s: float = 3.0) -> int:
    """The HTTP status of `GET path` on 127.0.0.1:`port`, or 0 when nothing answered."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("GET", path, headers={"Host": host_header})
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def allowed_host() -> str:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip() and h.strip() != "*"]
    return hosts[0].lstrip(".") if hosts else "127.0.0.1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zorio_widget.ops.probe", description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--path", default="/healthz", choices=["/healthz", "/readyz"])
    args = parser.parse_args(argv)
    status = probe(args.port, args.path, allowed_host())
    if status != 200:
        print(f"{args.path} on port {args.port}: {status or 'no answer'}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
