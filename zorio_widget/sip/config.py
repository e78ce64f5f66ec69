"""What the SIP layer knows of a trunk: plain data, built by ``zorio_widget.trunks`` from its model.

The SIP package never reads the database: the server gives the user agent ``TrunkConfig``s and
gives them again when an admin changes a trunk (``UserAgent.set_trunks``); the next call uses them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

TRANSPORTS: Final = ("udp", "tcp")
_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")


@dataclass(frozen=True)
class TrunkConfig:
    """One carrier or PBX account."""

    id: str
    "Stable key (the model's primary key): calls and registration state refer to it."
    tenant: str
    name: str
    host: str
    port: int = 5060
    transport: str = "udp"
    username: str = ""
    password: str = field(default="", repr=False)
    domain: str = ""
    "Domain of our From/To/REGISTER URIs; the host when empty."
    register: bool = False
    register_expires_s: int = 3600
    keepalive_s: float = 30.0
    "Seconds between OPTIONS pings to the trunk; 0 turns them off."
    outbound_prefixes: tuple[str, ...] = ()
    dids: Mapping[str, str] = field(default_factory=dict)
    "Inbound numbers → targets (an extension number or a route number)."
    caller_ids: tuple[str, ...] = ()
    "Numbers a call may present as its caller id (besides the default)."
    default_caller_id: str = ""
    max_channels: int = 0
    "Concurrent calls on the trunk; 0: no limit."

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, not {self.transport!r}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port} out of range")

    @property
    def uri_domain(self) -> str:
        return self.domain or self.host

    def target_for(self, number: str) -> str | None:
        """The DID's target, matching ``+84…`` and ``84…`` alike."""
        if number in self.dids:
            return self.dids[number]
        alternative = number[1:] if number.startswith("+") else f"+{number}"
        return self.dids.get(alternative)

    def caller_id_for(self, requested: str | None) -> str:
        """The caller id a call presents: the requested one when the trunk allows it, else the
        default (then the account's user name)."""
        if requested and requested in self.caller_ids:
            return requested
        return self.default_caller_id or self.username or "anonymous"


def is_number(value: str) -> bool:
    return bool(_NUMBER.fullmatch(value))
