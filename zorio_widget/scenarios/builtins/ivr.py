"""`ivr`: a menu. Answers, plays the prompt, and sends the caller where the digit pressed says.

Params: `prompt` (said or played; a digit pressed during it stops it), `options` ({digit: target}
with a target {"extension": "1002"}, {"route": "7001"} or {"hangup": true}; "extension:1002" also
goes), `timeout_s` (seconds to wait for a digit after the prompt, 1-60, default 5), `retries`
(times the menu is played again after a timeout or a digit with no option, 0-5, default 2),
`invalid` (a prompt played before a retry, optional), `on_failure` (the target once retries are
spent, default hang up), `inband` (also detect digits sent as tones in the audio, default true: it
decodes the caller's audio while the menu waits; RFC 4733 events always count).
"""

from __future__ import annotations

import asyncio
from typing import Any

from zorio_widget.scenarios.builtins.common import (
    ScenarioConfigError,
    check_number,
    check_prompt,
    check_target,
    go_to,
    play_and_wait,
    play_prompt,
)
from zorio_widget.scenarios.call import Call
from zorio_widget.scenarios.events import CallEvents

DIGITS = "0123456789*#"


def check(params: dict[str, Any]) -> dict[str, Any]:
    options = params.get("options")
    if not isinstance(options, dict) or not options:
        raise ScenarioConfigError("options must map digits to targets, e.g. {\"1\": {\"extension\": \"1002\"}}")
    checked = {}
    for digit, target in options.items():
        if not isinstance(digit, str) or len(digit) != 1 or digit not in DIGITS:
            raise ScenarioConfigError(f"options: {digit!r} is not a digit (0-9, *, #)")
        checked[digit] = check_target(target, f"options.{digit}")
    return {
        "prompt": check_prompt(params.get("prompt"), "prompt"),
        "options": checked,
        "timeout_s": check_number(params.get("timeout_s"), "timeout_s", 5.0, 1.0, 60.0),
        "retries": int(check_number(params.get("retries"), "retries", 2, 0, 5)),
        "invalid": check_prompt(params.get("invalid"), "invalid", required=False),
        "on_failure": check_target(params.get("on_failure", {"hangup": True}), "on_failure"),
        "inband": _flag(params.get("inband", True), "inband"),
    }


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioConfigError(f"{name} must be true or false")
    return value


async def next_digit(call: Call, params: dict[str, Any]) -> str | None:
    """Plays the menu and returns the first digit pressed during it or within `timeout_s` after."""
    tone = asyncio.ensure_future(call.wait_for(CallEvents.ToneReceived))
    try:
        playback = play_prompt(call, params["prompt"])
        finished = asyncio.ensure_future(playback.wait())
        await asyncio.wait([tone, finished], return_when=asyncio.FIRST_COMPLETED)
        finished.cancel()
        if tone.done():
            call.stop_playback()  # barge-in
        else:
            await asyncio.wait([tone], timeout=params["timeout_s"])
        return str(tone.result().tone) if tone.done() and not tone.cancelled() else None
    finally:
        tone.cancel()


async def run(call: Call, params: dict[str, Any]) -> None:
    await call.answer()
    call.handle_tones(True, inband=params["inband"])
    for attempt in range(params["retries"] + 1):
        if call.terminated:
            return
        digit = await next_digit(call, params)
        if call.terminated:
            return
        target = params["options"].get(digit) if digit is not None else None
        if target is not None:
            await go_to(call, target)
            return
        if params["invalid"] is not None and attempt < params["retries"]:
            await play_and_wait(call, params["invalid"])
    await go_to(call, params["on_failure"])
