"""`voicemail`: a greeting, a beep, then the caller's message recorded until they hang up, press `#`
or reach `max_length_s`; stored on the call's record as a voicemail (kind `voicemail`, the mailbox's
extension as the called party), with its recording served like any other
(`GET /api/webphone/calls/<uuid>/recording`) and listed by the calls API and the admin.

Params: `greeting` (said or played; default "Please leave a message after the tone."),
`language` (of the default greeting, default en), `mailbox` (the extension the message is for,
optional), `max_length_s` (5-600, default 120), `finish_on_key` (a digit that ends the message,
default "#"; "" for none), `beep` (default true).
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from channels.db import database_sync_to_async

from zorio_widget.calls.models import CallRecord
from zorio_widget.media.clips import Clip
from zorio_widget.media.playback import Playback
from zorio_widget.media.playback.pcm import pcm_to_clip
from zorio_widget.scenarios.builtins.common import ScenarioConfigError, check_number, check_prompt, play_and_wait
from zorio_widget.scenarios.call import CONNECTED, Call
from zorio_widget.scenarios.events import CallEvents
from zorio_widget.tenants.models import Extension

BEEP_HZ = 1000.0
BEEP_S = 0.4
GREETINGS = {"en": "Please leave a message after the tone.", "vi": "Xin vui lòng để lại lời nhắn sau tiếng bíp."}
_beep: Clip | None = None


def check(params: dict[str, Any]) -> dict[str, Any]:
    language = params.get("language", "en")
    if not isinstance(language, str) or not language:
        raise ScenarioConfigError("language must be a language code such as 'en' or 'vi'")
    greeting = params.get("greeting") or {"say": GREETINGS.get(language, GREETINGS["en"]), "language": language}
    key = params.get("finish_on_key", "#")
    if not isinstance(key, str) or len(key) > 1 or (key and key not in "0123456789*#"):
        raise ScenarioConfigError("finish_on_key must be one digit (0-9, *, #) or empty")
    mailbox = params.get("mailbox")
    if mailbox is not None and (not isinstance(mailbox, str) or not mailbox):
        raise ScenarioConfigError("mailbox must be an extension number")
    beep = params.get("beep", True)
    if not isinstance(beep, bool):
        raise ScenarioConfigError("beep must be true or false")
    return {"greeting": check_prompt(greeting, "greeting"), "mailbox": mailbox, "beep": beep, "finish_on_key": key,
            "max_length_s": check_number(params.get("max_length_s"), "max_length_s", 120.0, 5.0, 600.0)}


def _beep_clip() -> Clip:
    t = np.arange(int(BEEP_S * 48000)) / 48000
    return pcm_to_clip("beep", (np.sin(2 * np.pi * BEEP_HZ * t) * 0.3 * 32767).astype(np.int16))


async def beep() -> Playback:
    global _beep
    if _beep is None:
        _beep = await asyncio.to_thread(_beep_clip)
    return Playback("beep", _beep)


@database_sync_to_async
def mark_voicemail(call: Call, mailbox: str | None) -> None:
    fields: dict[str, Any] = {"kind": CallRecord.Kind.VOICEMAIL}
    if mailbox:
        extension = Extension.objects.filter(tenant_id=call.run.tenant_id, number=mailbox).first()
        if extension is not None:
            fields.update(to_extension=extension, to_name=extension.name)
    CallRecord.objects.filter(uuid=call.session.uuid).update(**fields)


async def run(call: Call, params: dict[str, Any]) -> None:
    if call.state() != CONNECTED:
        await call.answer()  # a queue may hand over a call it already answered
    await play_and_wait(call, params["greeting"])
    if call.terminated:
        return
    if params["beep"]:
        await call.play(await beep()).wait()
    if call.terminated:
        return
    await mark_voicemail(call, params["mailbox"])
    await call.record()
    key = params["finish_on_key"]
    if key:
        call.handle_tones(True)
    waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(call.ended())]
    if key:
        waits.append(asyncio.ensure_future(_key(call, key)))
    try:
        await asyncio.wait(waits, timeout=params["max_length_s"], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    await call.hangup()


async def _key(call: Call, key: str) -> None:
    while (await call.wait_for(CallEvents.ToneReceived)).tone != key:
        pass
