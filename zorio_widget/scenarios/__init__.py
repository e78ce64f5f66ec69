"""Server-side call control: scenarios answering routes, with seed 002's `Call` API (DESIGN §6a-§6b).

A scenario is `async def run(call: Call, params: dict) -> None`, named by a route (zorio_widget/routes/)
with a dotted path `package.module:run` or a built-in name (`ivr`, `voicemail`, `announcement`,
`queue`: builtins/). It is one more kind of leg of the call layer (leg.py: an endpoint with no
browser, media from the bridge), started by the originator of scenario routes (originate.py) and
supervised by its run (runner.py). Example::

    from zorio_widget.scenarios import CallEvents

    async def run(call, params):
        await call.answer()
        call.handle_tones(True)
        call.say("Press 1 for sales", "en")
        tone = await call.wait_for(CallEvents.ToneReceived, timeout_s=10)
        await call.transfer("1002" if tone.tone == "1" else "1003")

`call_extension(number)` and `call_pstn(number, caller_id)` place calls from inside a scenario.
"""

from typing import Any

# The names load on first use: Django imports this package (an installed app) before its models.
_EXPORTS = {
    "ALERTING": "call", "CONNECTED": "call", "PROGRESSING": "call", "TERMINATED": "call", "Call": "call",
    "CallEvent": "events", "CallEvents": "events", "call_extension": "outbound", "call_pstn": "outbound",
    "ScenarioError": "runner", "current_run": "runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
