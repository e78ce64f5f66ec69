"""Scenarios of the trunk tests, named by dotted path in routes (`tests.trunks.scripts:...`)."""

from __future__ import annotations

import asyncio
from typing import Any

from zorio_widget.scenarios import CallEvents, call_pstn
from zorio_widget.scenarios.call import Call


async def pstn_digits(call: Call, params: dict[str, Any]) -> None:
    """Answers, calls params["number"] through the trunk, sends it params["digits"] once it answers
    (`call.message` "digits sent" to the caller afterwards), then hangs both up."""
    await call.answer()
    other = await call_pstn(params["number"], params.get("caller_id", "02871234567"))
    await other.wait_for(CallEvents.Connected, 20)
    await asyncio.sleep(0.5)
    await other.send_digits(params["digits"])
    await call.send_message("digits sent")
    await asyncio.sleep(0.5)
    await other.hangup()
    await call.hangup()


async def pstn_with_headers(call: Call, params: dict[str, Any]) -> None:
    """Answers, calls params["number"] with X- headers (params["invite"]), and once it answers hangs
    it up with others (params["bye"]); `call.message` "hung up" to the caller afterwards."""
    await call.answer()
    other = await call_pstn(params["number"], params.get("caller_id", "02871234567"), extra_headers=params["invite"])
    await other.wait_for(CallEvents.Connected, 20)
    await other.hangup(params["bye"])
    await call.send_message("hung up")
    await call.ended()
