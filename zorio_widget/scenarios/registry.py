"""Which function a route's scenario names, and whether its params suit it.

A built-in is named (`ivr`, `voicemail`, `announcement`, `queue`: zorio_widget/scenarios/builtins/),
each with a `check(params)` that returns the params it will use or raises `ScenarioConfigError`
naming the bad one; anything else is a dotted path `package.module:function` to an
`async def run(call, params)` of the admin's own code (imported off the event loop, once).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from zorio_widget.routes.models import BUILT_IN_SCENARIOS, DOTTED_PATH
from zorio_widget.scenarios.builtins import announcement, ivr, queue, voicemail
from zorio_widget.scenarios.builtins.common import ScenarioConfigError

ScenarioFunction = Callable[[Any, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class BuiltIn:
    run: ScenarioFunction
    check: Callable[[dict[str, Any]], dict[str, Any]]


BUILT_INS: dict[str, BuiltIn] = {
    "announcement": BuiltIn(announcement.run, announcement.check),
    "ivr": BuiltIn(ivr.run, ivr.check),
    "queue": BuiltIn(queue.run, queue.check),
    "voicemail": BuiltIn(voicemail.run, voicemail.check),
}
assert tuple(sorted(BUILT_INS)) == BUILT_IN_SCENARIOS, "routes.models.BUILT_IN_SCENARIOS must list the built-ins"


def check_params(scenario: str, params: Any) -> dict[str, Any]:
    """The params a route's scenario will get; `ScenarioConfigError` when they do not suit it (a
    dotted-path scenario checks its own: any JSON object goes)."""
    if not isinstance(params, dict):
        raise ScenarioConfigError("params must be a JSON object")
    built_in = BUILT_INS.get(scenario)
    return built_in.check(dict(params)) if built_in is not None else dict(params)


def import_scenario(path: str) -> ScenarioFunction:
    """`package.module:function` as a coroutine function (blocking: imports)."""
    if not DOTTED_PATH.fullmatch(path):
        raise ScenarioConfigError(f"{path!r} is not 'package.module:function'")
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScenarioConfigError(f"cannot import {module_name}: {exc}") from exc
    function = getattr(module, attribute, None)
    if function is None or not inspect.iscoroutinefunction(function):
        raise ScenarioConfigError(f"{path} is not an async function")
    return function  # type: ignore[no-any-return]


async def resolve(scenario: str, params: Any) -> tuple[ScenarioFunction, dict[str, Any]]:
    """The function to run and its checked params; `ScenarioConfigError` for a bad route."""
    built_in = BUILT_INS.get(scenario)
    if built_in is not None:
        return built_in.run, check_params(scenario, params)
    function = await asyncio.to_thread(import_scenario, scenario)
    return function, check_params(scenario, params)
