"""National call-progress tones: the table ``play_progress_tone(country)`` reads.

Frequencies and cadences are those the ITU publishes per country for ITU-T E.180 ("Various tones
used in national networks", the E.180 supplement kept in the ITU Operational Bulletin), for the
countries the product is deployed in or called from. A cadence is (on, off, on, off...) in
seconds and repeats; an empty cadence is a continuous tone. Several frequencies sound together
(``440+480``), not in turn.

Kinds: ``dial``, ``ringback`` (what a caller hears while the far end rings), ``busy``,
``congestion`` (US "reorder": no route or no circuit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class TonePlan:
    """One tone of one country."""

    frequencies_hz: tuple[float, ...]
    "Sounding together."
    cadence_s: tuple[float, ...] = ()
    "On, off, on, off... seconds, repeated; empty: continuous."

    @property
    def period_s(self) -> float:
        return sum(self.cadence_s)


KINDS: Final = ("dial", "ringback", "busy", "congestion")
KIND_ALIASES: Final = {"reorder": "congestion", "ringing": "ringback", "ring": "ringback"}
COUNTRY_ALIASES: Final = {"UK": "GB"}

PLANS: Final[dict[str, dict[str, TonePlan]]] = {
    "US": {  # North American plan
        "dial": TonePlan((350.0, 440.0)),
        "ringback": TonePlan((440.0, 480.0), (2.0, 4.0)),
        "busy": TonePlan((480.0, 620.0), (0.5, 0.5)),
        "congestion": TonePlan((480.0, 620.0), (0.25, 0.25)),
    },
    "GB": {
        "dial": TonePlan((350.0, 440.0)),
        "ringback": TonePlan((400.0, 450.0), (0.4, 0.2, 0.4, 2.0)),
        "busy": TonePlan((400.0,), (0.375, 0.375)),
        "congestion": TonePlan((400.0,), (0.4, 0.35, 0.225, 0.525)),
    },
    "RU": {
        "dial": TonePlan((425.0,)),
        "ringback": TonePlan((425.0,), (1.0, 4.0)),
        "busy": TonePlan((425.0,), (0.35, 0.35)),
        "congestion": TonePlan((425.0,), (0.175, 0.175)),
    },
    "VN": {
        "dial": TonePlan((425.0,)),
        "ringback": TonePlan((425.0,), (1.0, 4.0)),
        "busy": TonePlan((425.0,), (0.5, 0.5)),
        "congestion": TonePlan((425.0,), (0.25, 0.25)),
    },
}
COUNTRIES: Final = tuple(sorted(PLANS))


def normalise(country: str, kind: str) -> tuple[str, str]:
    """``(COUNTRY, kind)`` as the table spells them; ``KeyError`` with the known ones otherwise."""
    if not isinstance(country, str) or not isinstance(kind, str):
        raise KeyError("country and kind are strings")
    code = COUNTRY_ALIASES.get(country.upper(), country.upper())
    name = KIND_ALIASES.get(kind.lower(), kind.lower())
    if code not in PLANS:
        raise KeyError(f"no tone plan for country {country!r}; known: {', '.join(COUNTRIES)}")
    if name not in PLANS[code]:
        raise KeyError(f"no {kind!r} tone; known: {', '.join(KINDS)}")
    return code, name


def plan_for(country: str, kind: str = "ringback") -> TonePlan:
    code, name = normalise(country, kind)
    return PLANS[code][name]
