"""The transaction timers of RFC 3261 (Table 4, with RFC 6026's L and M) as data.

Every timer is a function of T1/T2/T4 and of whether the transport is reliable, so tests (and a
deployment on a slow link) change T1 and every timer follows. ``Timers.value("B")`` is what the
transactions use; ``TIMER_TABLE`` says what each timer is for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Timers:
    """Base values (seconds) from which every transaction timer is derived."""

    t1: float = 0.5
    "RTT estimate: first retransmit interval."
    t2: float = 4.0
    "Longest retransmit interval of non-INVITE requests and INVITE final responses."
    t4: float = 5.0
    "Longest time a message stays in the network."

    def value(self, name: str, reliable: bool = False) -> float:
        """Seconds of timer ``name`` (``A``…``M``) on a reliable or unreliable transport."""
        _doc, udp, tcp = TIMER_TABLE[name]
        return (tcp if reliable else udp)(self)


_Rule = Callable[[Timers], float]

TIMER_TABLE: Final[dict[str, tuple[str, _Rule, _Rule]]] = {
    "A": ("INVITE client: first retransmit interval (doubles), UDP only", lambda t: t.t1, lambda t: 0.0),
    "B": ("INVITE client: gives up waiting for any response", lambda t: 64 * t.t1, lambda t: 64 * t.t1),
    "D": ("INVITE client: absorbs final response retransmits after the ACK (32 s at the default T1)",
          lambda t: 64 * t.t1, lambda t: 0.0),
    "E": ("non-INVITE client: first retransmit interval (doubles up to T2), UDP only",
          lambda t: t.t1, lambda t: 0.0),
    "F": ("non-INVITE client: gives up", lambda t: 64 * t.t1, lambda t: 64 * t.t1),
    "G": ("INVITE server: first final response retransmit (doubles up to T2), UDP only",
          lambda t: t.t1, lambda t: 0.0),
    "H": ("INVITE server: gives up waiting for the ACK", lambda t: 64 * t.t1, lambda t: 64 * t.t1),
    "I": ("INVITE server: absorbs ACK retransmits", lambda t: t.t4, lambda t: 0.0),
    "J": ("non-INVITE server: absorbs request retransmits", lambda t: 64 * t.t1, lambda t: 0.0),
    "K": ("non-INVITE client: absorbs response retransmits", lambda t: t.t4, lambda t: 0.0),
    "L": ("INVITE server (RFC 6026): absorbs INVITE retransmits after a 2xx", lambda t: 64 * t.t1,
          lambda t: 64 * t.t1),
    "M": ("INVITE client (RFC 6026): passes 2xx retransmits to the TU", lambda t: 64 * t.t1,
          lambda t: 64 * t.t1),
}
