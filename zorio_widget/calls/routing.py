"""Where a dialled destination goes: a service number, an extension of the tenant, a scenario
route of the tenant (zorio_widget/routes/, read for every call, so a change applies to the next one),
or nowhere.

Cleaning is forgiving about what people paste (`+84 (90) 123-4567`); anything left that is not
digits, `*`, `#` or a leading `+` is an `invalid_target`. A clean number that matches nothing is
routable syntax with no destination: the call is placed and ends `failed`.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from channels.db import database_sync_to_async

from zorio_widget.routes.models import Route as ScenarioRoute
from zorio_widget.tenants.models import Extension

_SEPARATORS = re.compile(r"[\s\-.()/]")
_DIALLABLE = re.compile(r"\+?[0-9*#]{1,32}")


class ServiceNumber(StrEnum):
    ECHO = "*43"
    MUSIC = "*44"


class RouteKind(StrEnum):
    """The target kind a dialled number resolves to; each has an originator (`targets.py`) that
    makes the callee side. A trunk or a scenario route is one more kind here and one more
    originator given to the switchboard."""

    EXTENSION = "extension"
    SERVICE = "service"
    SCENARIO = "scenario"
    UNKNOWN = "unknown"


class InvalidTarget(ValueError):
    pass


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    number: str
    extension_id: int | None = None
    name: str = ""
    call_waiting: bool = True
    service: ServiceNumber | None = None
    #: A scenario route: its scenario (a built-in name or `pkg.module:run`) and params.
    scenario: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def clean_destination(raw: str) -> str:
    """The dialable form of a typed or pasted number; raises InvalidTarget."""
    if raw.lower().startswith(("tel:", "callto:")):
        raw = raw.split(":", 1)[1]
    cleaned = _SEPARATORS.sub("", raw.strip())
    if not _DIALLABLE.fullmatch(cleaned):
        raise InvalidTarget(f"{raw[:40]!r} is not a dialable number")
    return cleaned


def find_route(tenant_id: int, number: str) -> Route:
    if number in {s.value for s in ServiceNumber}:
        return Route(RouteKind.SERVICE, number, name=f"Service {number}", service=ServiceNumber(number))
    extension = (
        Extension.objects.select_related("user")
        .filter(tenant_id=tenant_id, number=number, enabled=True)
        .first()
    )
    if extension is None:
        route = ScenarioRoute.objects.filter(tenant_id=tenant_id, number=number, enabled=True).first()
        if route is not None:
            return Route(RouteKind.SCENARIO, number, name=route.name or route.scenario, scenario=route.scenario,
                         params=dict(route.params or {}))
        return Route(RouteKind.UNKNOWN, number)
    return Route(RouteKind.EXTENSION, number, extension.pk, extension.name, extension.call_waiting)


resolve_route = database_sync_to_async(find_route)
