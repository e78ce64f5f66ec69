"""Our trunk calling SIPp carriers (UAS scenarios): SIPp judges every message we send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.sip.conftest import Events, LoseFirst, Wire, wait_for
from tests.sip.sipp import Sipp
from zorio_widget.media.rtp import PortRange
from zorio_widget.sip import SipCall, Timers, TrunkConfig, UserAgent

pytestmark = pytest.mark.timeout(120)
TIMERS = Timers(t1=0.1, t2=0.8, t4=1.0)
"T1 of 100 ms: a lost INVITE is resent after 100 ms (SIPp's own retransmits are every 500 ms)."


@pytest.fixture
async def ua() -> AsyncIterator[tuple[UserAgent, Events]]:
    events = Events()
    agent = UserAgent("127.0.0.1", 0, timers=TIMERS, rtp_ports=PortRange(42000, 42999), media_timeout_s=0,
                      register_retry_s=(0.5, 2.0),
                      on_incoming=lambda call, target: events.incoming.append((events.watch(call), target)))
    await agent.start()
    yield agent, events
    await agent.close()


def trunk(sipp: Sipp, **kw: object) -> TrunkConfig:
    options = {"username": "acct", "password": "s3cret!", "keepalive_s": 0, "default_caller_id": "842800", **kw}
    return TrunkConfig("t", "acme", "carrier", "127.0.0.1", sipp.port, **options)  # type: ignore[arg-type]


Script = Callable[[SipCall, Events], Awaitable[None]]


async def hang_up_when_answered(call: SipCall, events: Events) -> None:
    await wait_for(lambda: "answered" in events.names() or "ended" in events.names(), within=20)
    await asyncio.sleep(0.2)
    await call.hangup()


async def run(ua: tuple[UserAgent, Events], tmp_path: Path, scenario: str, script: Script | None = None,
              template: dict[str, str] | None = None) -> Events:
    agent, events = ua
    sipp = await Sipp(scenario, tmp_path, template=template).start()
    try:
        await agent.set_trunks([trunk(sipp)])
        call = events.watch(await agent.dial("t", "0912345678"))
        if script is not None:
            await script(call, events)
        await wait_for(lambda: "ended" in events.names(), within=30)
        await sipp.finish()
    finally:
        await sipp.stop()
    return events


async def test_digest_401_early_media_answer_and_bye_from_the_carrier(ua, tmp_path: Path) -> None:
    events = await run(ua, tmp_path, "uas_auth_bye.xml")
    assert events.log == [("progress", 183, True), ("answered",), ("ended", "hangup", 200)]


async def test_a_retransmitted_401_is_acked_again_and_retried_once(ua, tmp_path: Path) -> None:
    agent, _events = ua
    wire = Wire(agent.transport)
    events = await run(ua, tmp_path, "uas_401_retransmitted.xml", hang_up_when_answered)
    assert events.log == [("answered",), ("ended", "hangup", 200)]
    acks = [d for d in wire.sent if d.startswith(b"ACK ") and b"CSeq: 1 ACK" in d]
    invites = {d.split(b"CSeq: ")[1].split(b"\r\n")[0] for d in wire.sent if d.startswith(b"INVITE ")}
    assert len(acks) == 2, "each copy of the 401 must be ACKed by the INVITE transaction"
    assert invites == {b"1 INVITE", b"2 INVITE"}, "one retry with credentials, not one per copy"


async def test_407_proxy_authentication(ua, tmp_path: Path) -> None:
    events = await run(ua, tmp_path, "uas_407.xml", hang_up_when_answered)
    assert events.log == [("progress", 180, False), ("answered",), ("ended", "hangup", 200)]


async def test_cancel_while_ringing_gets_487_and_acks_it(ua, tmp_path: Path) -> None:
    async def cancel_on_ringing(call: SipCall, events: Events) -> None:
        await wait_for(lambda: "progress" in events.names(), within=20)
        await call.hangup()
        await asyncio.sleep(1.0)  # the 487 and our ACK
    events = await run(ua, tmp_path, "uas_cancel.xml", cancel_on_ringing)
    assert events.log[0] == ("progress", 180, False) and events.log[-1][:2] == ("ended", "cancelled")


async def test_reinvite_hold_and_unhold(ua, tmp_path: Path) -> None:
    async def hold_unhold(call: SipCall, events: Events) -> None:
        await wait_for(lambda: "answered" in events.names(), within=20)
        assert await call.hold()
        assert call.media.local_direction == "sendonly" and call.media.outbound.paused is False
        assert await call.unhold()
        assert call.media.local_direction == "sendrecv"
        await call.hangup()
    events = await run(ua, tmp_path, "uas_hold.xml", hold_unhold)
    assert events.log == [("answered",), ("ended", "hangup", 200)]


async def test_an_invite_lost_once_is_retransmitted_and_the_call_comes_up(ua, tmp_path: Path) -> None:
    agent, _events = ua
    wire = Wire(agent.transport)
    wire.drop = lost = LoseFirst(b"INVITE ")
    events = await run(ua, tmp_path, "uas_answer.xml", hang_up_when_answered)
    assert lost.seen == 2, "the INVITE was not retransmitted exactly once before the answer"
    assert events.log == [("answered",), ("ended", "hangup", 200)]


@pytest.mark.parametrize(("code", "reason", "end"), [
    ("486", "Busy Here", "busy"), ("480", "Temporarily Unavailable", "no-answer"), ("404", "Not Found", "failed"),
    ("603", "Decline", "rejected"), ("503", "Service Unavailable", "failed"),
])
async def test_final_errors_are_acked_and_mapped_to_end_reasons(ua, tmp_path: Path, code: str, reason: str,
                                                                 end: str) -> None:
    events = await run(ua, tmp_path, "uas_reject.xml", template={"CODE": code, "REASON": reason})
    assert events.log == [("ended", end, int(code))]


async def test_register_with_a_401_challenge_and_a_refresh_before_expiry(ua, tmp_path: Path) -> None:
    agent, _events = ua
    states: list[tuple[str, str, str]] = []
    agent.on_trunk_state = lambda trunk_id, kind, state, detail: states.append((trunk_id, kind, state))
    sipp = await Sipp("uas_register.xml", tmp_path).start()
    try:
        await agent.set_trunks([trunk(sipp, register=True, register_expires_s=2)])
        registerer = agent.agents["t"].registerer
        assert registerer is not None
        await wait_for(lambda: registerer.registrations >= 2, within=10)
        await sipp.finish()
        assert registerer.state == "registered" and registerer.granted_s == 60
        assert ("t", "registration", "registered") in states
    finally:
        await sipp.stop()


async def test_a_call_over_tcp(ua, tmp_path: Path) -> None:
    agent, events = ua
    sipp = await Sipp("uas_answer.xml", tmp_path, transport="tcp").start()
    wire = Wire(agent.transport)
    try:
        await agent.set_trunks([trunk(sipp, transport="tcp")])
        call = events.watch(await agent.dial("t", "0912345678"))
        await hang_up_when_answered(call, events)
        await wait_for(lambda: "ended" in events.names(), within=20)
        await sipp.finish()
    finally:
        await sipp.stop()
    assert events.log == [("answered",), ("ended", "hangup", 200)]
    assert len([d for d in wire.sent if d.startswith(b"INVITE ")]) == 1, "no retransmission over TCP"
    assert all(b"SIP/2.0/TCP" in d for d in wire.sent if not d.startswith(b"SIP/2.0 "))
