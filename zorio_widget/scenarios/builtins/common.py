"""What the built-ins share: prompts (`{"say": text, "language": "en"}` or `{"play": path-or-url}`)
and targets (`{"extension": "1002"}`, `{"route": "7001"}`, `{"hangup": true}`), checked when a
route is saved and used when a call comes."""

from __future__ import annotations

from typing import Any

from zorio_widget.media.playback import Playback
from zorio_widget.media.speech import MAX_TEXT_CHARS
from zorio_widget.scenarios.call import Call
from zorio_widget.scenarios.events import CallEvents

Prompt = dict[str, str]
Target = dict[str, Any]
TARGET_KINDS = ("extension", "route", "hangup")


class ScenarioConfigError(ValueError):
    """Params a built-in refuses (the route is misconfigured); the message names the param."""


def check_prompt(value: Any, name: str, required: bool = True) -> Prompt | None:
    if value is None and not required:
        return None
    if isinstance(value, str):
        value = {"say": value}
    if not isinstance(value, dict) or len({"say", "play"} & set(value)) != 1:
        raise ScenarioConfigError(f"{name} must be {{\"say\": text, \"language\": code}} or {{\"play\": path-or-url}}")
    if "say" in value:
        text, language = value["say"], value.get("language", "en")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT_CHARS:
            raise ScenarioConfigError(f"{name}.say must be a text of 1 to {MAX_TEXT_CHARS} characters")
        if not isinstance(language, str) or not language:
            raise ScenarioConfigError(f"{name}.language must be a language code such as 'en' or 'vi'")
        return {"say": text, "language": language}
    if not isinstance(value["play"], str) or not value["play"]:
        raise ScenarioConfigError(f"{name}.play must be a static path or an http(s) URL")
    return {"play": value["play"]}


def check_target(value: Any, name: str) -> Target:
    if isinstance(value, str) and ":" in value:
        kind, _, rest = value.partition(":")
        value = {kind: rest or True}
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in TARGET_KINDS:
        raise ScenarioConfigError(f"{name} must be one of {{\"extension\": number}}, {{\"route\": number}}, "
                                  "{\"hangup\": true}")
    kind, target = next(iter(value.items()))
    if kind != "hangup" and (not isinstance(target, str) or not target):
        raise ScenarioConfigError(f"{name}.{kind} must be a number")
    return {kind: target if kind != "hangup" else True}


def check_number(value: Any, name: str, default: float, low: float, high: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ScenarioConfigError(f"{name} must be a number from {low} to {high}")
    return float(value)


def play_prompt(call: Call, prompt: Prompt) -> Playback:
    if "say" in prompt:
        return call.say(prompt["say"], prompt.get("language", "en"))
    return call.start_playback(prompt["play"])


async def play_and_wait(call: Call, prompt: Prompt) -> None:
    """Plays `prompt` to the party and returns when it is over (or the call is)."""
    playback = play_prompt(call, prompt)
    await playback.wait()


async def go_to(call: Call, target: Target) -> None:
    """Sends the caller where `target` says: an extension or a route (a blind transfer), or hangs up."""
    if "hangup" in target:
        await call.hangup()
    else:
        await call.transfer(str(target.get("extension") or target.get("route")))


__all__ = ["CallEvents", "Prompt", "ScenarioConfigError", "Target", "check_number", "check_prompt", "check_target",
           "go_to", "play_and_wait", "play_prompt"]
