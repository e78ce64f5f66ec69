"""`announcement`: answers, says or plays a message (`repeat` times), hangs up.

Params: `prompt` ({"say": text, "language": "en"} or {"play": path-or-url}; a bare string is said),
`repeat` (1-10, default 1), `early_media` (true: played before any answer, then the call is
rejected with `reject_code`, default 480; false, the default: answered first).
"""

from __future__ import annotations

from typing import Any

from zorio_widget.scenarios.builtins.common import ScenarioConfigError, check_number, check_prompt, play_and_wait
from zorio_widget.scenarios.call import Call


def check(params: dict[str, Any]) -> dict[str, Any]:
    early = params.get("early_media", False)
    if not isinstance(early, bool):
        raise ScenarioConfigError("early_media must be true or false")
    return {
        "prompt": check_prompt(params.get("prompt"), "prompt"),
        "repeat": int(check_number(params.get("repeat"), "repeat", 1, 1, 10)),
        "early_media": early,
        "reject_code": int(check_number(params.get("reject_code"), "reject_code", 480, 300, 699)),
    }


async def run(call: Call, params: dict[str, Any]) -> None:
    if params["early_media"]:
        await call.start_early_media()
    else:
        await call.answer()
    for _ in range(params["repeat"]):
        if call.terminated:
            return
        await play_and_wait(call, params["prompt"])
    if params["early_media"]:
        await call.reject(params["reject_code"])
    else:
        await call.hangup()
