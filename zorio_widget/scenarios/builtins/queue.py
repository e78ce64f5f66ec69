"""`queue`: callers wait with music and hear their position; each is offered to the available agent
idle the longest (scenarios/agents.py: agents and lines are cluster-wide, so an agent whose socket
is on another process is offered too), the next one when it does not answer within
`ring_timeout_s`; after `max_wait_s` the caller goes to `on_max_wait`.

Params: `greeting` (said or played first, optional), `music` ({"play": path-or-url}; default the
server's hold music), `language` (of the position prompt, default en), `position_every_s` (how often
the caller hears its position, 10-600, default 30; 0: never), `ring_timeout_s` (per agent, 5-120,
default 20), `max_wait_s` (10-7200, default QUEUE_MAX_WAIT_S), `on_max_wait` (a target:
{"extension": ...}, {"route": ...}, {"hangup": true}, or {"voicemail": {voicemail params}};
default hang up). A connected caller and agent hear each other through the bridge (both ways);
when either hangs up the other call ends too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings

from zorio_widget.media.clips import load_clip
from zorio_widget.media.playback import Playback
from zorio_widget.scenarios.agents import Agent, get_directory
from zorio_widget.scenarios.builtins import voicemail
from zorio_widget.scenarios.builtins.common import (
    ScenarioConfigError,
    Target,
    check_number,
    check_prompt,
    check_target,
    go_to,
    play_and_wait,
)
from zorio_widget.scenarios.call import CONNECTED, Call
from zorio_widget.scenarios.events import CallEvents
from zorio_widget.scenarios.outbound import call_extension
from zorio_widget.scenarios.runner import ScenarioError

POSITION_PROMPTS = {"en": "You are caller number {position}. Please hold.",
                    "vi": "Bạn là người gọi thứ {position}. Xin vui lòng chờ."}
POLL_S = 1.0
"""Agents also become free when their other calls end, and change state on other processes of a
cluster, which nothing announces here: look again this often."""
OFFER_MARGIN_S = 10.0
"An offer's claim outlives its ring timeout by this much (it lapses only if its process died)."


def check(params: dict[str, Any]) -> dict[str, Any]:
    language = params.get("language", "en")
    if not isinstance(language, str) or not language:
        raise ScenarioConfigError("language must be a language code such as 'en' or 'vi'")
    music = params.get("music")
    if music is not None and (not isinstance(music, dict) or set(music) != {"play"}):
        raise ScenarioConfigError("music must be {\"play\": path-or-url}")
    on_max_wait = params.get("on_max_wait", {"hangup": True})
    if isinstance(on_max_wait, dict) and set(on_max_wait) == {"voicemail"}:
        target: Target = {"voicemail": voicemail.check(dict(on_max_wait["voicemail"] or {}))}
    else:
        target = check_target(on_max_wait, "on_max_wait")
    every = check_number(params.get("position_every_s"), "position_every_s", 30.0, 0.0, 600.0)
    if 0 < every < 10:
        raise ScenarioConfigError("position_every_s must be 0 or from 10 to 600")
    return {
        "greeting": check_prompt(params.get("greeting"), "greeting", required=False),
        "music": check_prompt(music, "music", required=False),
        "language": language,
        "position_every_s": every,
        "ring_timeout_s": check_number(params.get("ring_timeout_s"), "ring_timeout_s", 20.0, 5.0, 120.0),
        "max_wait_s": check_number(params.get("max_wait_s"), "max_wait_s", settings.QUEUE_MAX_WAIT_S, 10.0, 7200.0),
        "on_max_wait": target,
    }


def start_music(call: Call, params: dict[str, Any]) -> Playback:
    if params["music"] is not None:
        return call.start_playback(params["music"]["play"], loop=True)
    return call.play(Playback("music", load_clip("music"), loop=True))


async def run(call: Call, params: dict[str, Any]) -> None:
    if call.state() != CONNECTED:
        await call.answer()
    directory, tenant_id, queue, ticket = get_directory(), call.run.tenant_id, call.number(), call.own.call_id
    await directory.join(tenant_id, queue, ticket)
    try:
        if params["greeting"] is not None:
            await play_and_wait(call, params["greeting"])
        if await wait_for_agent(call, params):
            return
    finally:
        await asyncio.shield(directory.leave(tenant_id, queue, ticket))  # also when the run is cancelled
    if call.terminated:
        return
    target = params["on_max_wait"]
    if "voicemail" in target:
        call.stop_playback()
        await voicemail.run(call, target["voicemail"])
    else:
        await go_to(call, target)


async def wait_for_agent(call: Call, params: dict[str, Any]) -> bool:
    """Offers the caller until an agent takes it (True once that call is over), or the wait is over."""
    loop = asyncio.get_running_loop()
    directory, tenant_id, queue = get_directory(), call.run.tenant_id, call.number()
    deadline = loop.time() + params["max_wait_s"]
    announce_at = loop.time()
    tried: set[str] = set()
    music: Playback | None = None
    while not call.terminated and loop.time() < deadline:
        if params["position_every_s"] and loop.time() >= announce_at:
            position = await directory.position(tenant_id, queue, call.own.call_id)
            text = POSITION_PROMPTS.get(params["language"], POSITION_PROMPTS["en"]).format(position=position)
            await play_and_wait(call, {"say": text, "language": params["language"]})
            music = None
            announce_at = loop.time() + params["position_every_s"]
        if music is None or music.state == "finished":
            music = start_music(call, params)
        agent = await next_agent(call, tried)
        if agent is None:
            tried.clear()  # every available agent was tried: go round again when one is free
            wake = min(deadline, announce_at if params["position_every_s"] else deadline) - loop.time()
            await directory.wait_change(tenant_id, queue, max(0.0, min(POLL_S, wake)))
            continue
        tried.add(agent.number)
        if await offer(call, agent, params):
            return True
        music = None if call.state() != CONNECTED else music
    return False


async def next_agent(call: Call, tried: set[str]) -> Agent | None:
    """The agent this caller may be offered now: callers ahead of it (not ringing an agent already)
    take the longest-idle free agents first."""
    directory, board, tenant_id, queue = get_directory(), call.run.board, call.run.tenant_id, call.number()
    free = [a for a in await directory.agents_of(tenant_id, queue)
            if not await board.is_busy(tenant_id, a.number)]
    ahead = 0
    for other in await directory.line(tenant_id, queue):
        if other.ticket == call.own.call_id:
            break
        if not other.offering:
            ahead += 1
    candidates = [a for a in free[ahead:] if a.number not in tried]
    return candidates[0] if candidates else None


async def offer(call: Call, agent: Agent, params: dict[str, Any]) -> bool:
    """Rings `agent` for the caller; True if they talked (and that is over now). False at once when
    another caller (of this process or another) claimed the agent first."""
    directory, tenant_id, queue, ticket = get_directory(), call.run.tenant_id, call.number(), call.own.call_id
    if not await directory.claim(tenant_id, agent.number, ticket, params["ring_timeout_s"] + OFFER_MARGIN_S):
        return False
    try:
        await directory.set_offering(tenant_id, queue, ticket, True)
        try:
            agent_call = await call_extension(agent.number, caller_id=call.callerid(), display_name=call.display_name())
        except ScenarioError:
            return False
        if not await answered(call, agent_call, params["ring_timeout_s"]):
            await agent_call.hangup()
            return False
    finally:
        await asyncio.shield(_offer_over(tenant_id, queue, ticket, agent.number))
    call.stop_playback()
    call.send_media_to(agent_call)
    agent_call.send_media_to(call)
    ends = [asyncio.ensure_future(call.ended()), asyncio.ensure_future(agent_call.ended())]
    try:
        await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for end in ends:
            end.cancel()
        await asyncio.shield(directory.finished_call(tenant_id, agent.number))
        await agent_call.hangup()
        await call.hangup()
    return True


async def _offer_over(tenant_id: int, queue: str, ticket: str, number: str) -> None:
    directory = get_directory()
    await directory.set_offering(tenant_id, queue, ticket, False)
    await directory.release(tenant_id, number, ticket, queue)


async def answered(call: Call, agent_call: Call, timeout_s: float) -> bool:
    if agent_call.terminated:
        return False
    waits = [asyncio.ensure_future(agent_call.wait_for(CallEvents.Connected)),
             asyncio.ensure_future(agent_call.ended()), asyncio.ensure_future(call.ended())]
    try:
        if agent_call.state() != CONNECTED:
            await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return agent_call.state() == CONNECTED and not call.terminated
