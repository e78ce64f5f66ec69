"""The native relay: the relay's steady state in C (``_fastrelay.c``, built by ``make native``).

- ``_fastrelay.c``: ``Route`` (one plain relay: an ``Ingress``, a leg's SSRC, to an ``Egress``, the
  listener's stream), ``Receive`` (an aioice connection's ``data_received``, or an RTP socket's
  route holder) and ``Reader`` (a UDP socket's read callback); the sides of each leg kind are in
  ``srtp_side.c`` (a browser's aiortc leg) and ``rtp_side.c`` (a trunk's RTP leg), ``relay.h``
  joins them;
- ``routes``: when a route may be armed, and its counters (``arm``, ``disarm``, ``counters``);
- here: whether the extension is built (``available()``) and switched on (``enabled``);
- the contract a route shares with the Python relay path is ``media.timeline.Timeline`` (a
  browser leg's outbound track) plus aiortc's attributes gathered by ``aiortc_hook.sockets``, and
  ``media.rtp.state`` (a trunk leg's ``SessionState`` and ``StreamState``).

This module only loads the extension: ``fastrelay`` is the built module, or ``None`` when it was
not built (then every packet takes the Python path: slower, same behaviour). It imports nothing
else, so the aiortc hook below the relay policy can use the extension's types.
``ZORIO_NATIVE_RELAY=off`` keeps every packet on the Python path even when it is built.
"""

from __future__ import annotations

import os
from typing import Any, Final

fastrelay: Any = None
"The built ``_fastrelay`` module (typed ``Any``: it has no stubs), or ``None``."
try:
    from . import _fastrelay  # type: ignore[attr-defined]
except ImportError:  # not built: the Python relay path carries every packet
    pass
else:
    fastrelay = _fastrelay


ENV_SWITCH: Final = "ZORIO_NATIVE_RELAY"


def available() -> bool:
    """Whether the native module is built (``make native`` builds it; see setup.py)."""
    return fastrelay is not None


enabled: bool = available() and os.environ.get(ENV_SWITCH, "on").lower() not in ("0", "off", "false", "no")
"""Whether ``routes.arm`` creates routes (tests switch it off to exercise the Python path)."""
