"""Scenarios of the tests' own, named by dotted path in routes (`tests.scenarios.scripts:...`)."""

from __future__ import annotations

import asyncio
from typing import Any

from zorio_widget.scenarios import CallEvents, call_extension, call_pstn
from zorio_widget.scenarios.call import Call

SEEN: dict[str, Any] = {}
"What the scenarios saw, for the tests to read (reset by each test that uses it)."


async def answer_with_headers(call: Call, params: dict[str, Any]) -> None:
    SEEN["before"] = call.state()
    await call.answer({"X-Ticket": params.get("ticket", "T-1")})
    SEEN.update(after=call.state(), id=call.id(), incoming=call.incoming(), callerid=call.callerid(),
                number=call.number(), display_name=call.display_name(), custom_data=call.custom_data())
    call.handle_tones(True)
    tones: list[str] = SEEN.setdefault("tones", [])
    call.add_event_listener(CallEvents.ToneReceived, lambda event: tones.append(event.tone))
    call.add_event_listener(CallEvents.MessageReceived, lambda event: SEEN.setdefault("messages", []).append(event.text))
    await call.send_message("hello from the scenario")
    SEEN["ended"] = await call.ended()


async def reject_with(call: Call, params: dict[str, Any]) -> None:
    await call.reject(params["code"], {"X-Why": "test"})


async def raises(call: Call, params: dict[str, Any]) -> None:
    await call.answer()
    await asyncio.sleep(0.05)
    raise RuntimeError("a bug in the admin's scenario")


async def listener_raises(call: Call, params: dict[str, Any]) -> None:
    def broken(event: Any) -> None:
        raise ValueError("a listener's bug")

    call.add_event_listener(CallEvents.Connected, broken)
    await call.answer()
    await call.ended()


async def returns_at_once(call: Call, params: dict[str, Any]) -> None:
    return None


async def bridge_to_extension(call: Call, params: dict[str, Any]) -> None:
    """Answers, calls the extension with X- headers and connects both ways once it answers."""
    await call.answer()
    other = await call_extension(params["extension"], extra_headers={"X-Customer": "42"})
    SEEN["other"] = other
    SEEN["ringing"] = await other.wait_for(CallEvents.Ringing, 5)
    connected = await other.wait_for(CallEvents.Connected, 10)
    SEEN["connected"] = connected
    call.send_media_to(other)
    other.send_media_to(call)
    ends = [asyncio.ensure_future(call.ended()), asyncio.ensure_future(other.ended())]
    await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
    await call.hangup()


async def dial_pstn(call: Call, params: dict[str, Any]) -> None:
    await call.answer()
    other = await call_pstn("0912345678", "02871234567")
    SEEN["failed"] = await other.wait_for(CallEvents.Failed, 5) if not other.terminated else None
    SEEN["other"] = other
    await call.hangup()


async def say_then_hangup(call: Call, params: dict[str, Any]) -> None:
    await call.answer()
    playback = call.say(params.get("text", "Hello"), params.get("language", "en"))
    finished = await call.wait_for(CallEvents.PlaybackFinished, 20)
    SEEN["finished"] = finished
    SEEN["result"] = await playback.wait()
    await call.hangup()


async def play_file(call: Call, params: dict[str, Any]) -> None:
    """Answers, plays params["file"], tells the caller how long it played (`call.message`) at its end."""
    await call.answer()
    call.start_playback(params["file"])
    finished = await call.wait_for(CallEvents.PlaybackFinished, 30)
    await call.send_message(f"finished {finished.played_s:.2f} {finished.error}")
    await call.ended()


async def fan_out(call: Call, params: dict[str, Any]) -> None:
    """Answers, calls every extension of params["to"], and sends the caller's audio to each that answers."""
    await call.answer()
    others = [await call_extension(number) for number in params["to"]]
    for other in others:
        await other.wait_for(CallEvents.Connected, 20)
        call.send_media_to(other)
    await call.ended()
    for other in others:
        await other.hangup()


async def count_and_hang_up(call: Call, params: dict[str, Any]) -> None:
    """The leak test's scenario: a prompt, a listener, a short wait, a hang-up."""
    await call.answer()
    call.handle_tones(True)
    call.add_event_listener(CallEvents.ToneReceived, lambda event: None)
    call.vad()
    playback = call.say("One", "en")
    await playback.wait()
    await call.hangup()


async def tones_digits_vad(call: Call, params: dict[str, Any]) -> None:
    """A progress tone, then whether the caller talks (vad), then digits with a pause."""
    await call.answer()
    first = call.vad()  # the first call starts listening
    call.play_progress_tone(params.get("country", "VN"))
    await asyncio.sleep(0.7)  # a steady tone stops counting as voice after ~1 s (vad's noise floor)
    talking = call.vad()
    await asyncio.sleep(1.3)
    call.stop_playback()
    await call.send_message(f"vad {first} {talking}")
    await call.send_digits("1p2")
    await call.ended()
