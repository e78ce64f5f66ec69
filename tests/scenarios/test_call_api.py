"""The scenario `Call` API driven through the call layer with fake devices and media (no server):
every verb and event a scenario sees, refusals, supervision, routes read at each call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.calls.fakes import Phone, until
from tests.scenarios import scripts
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.routing import RouteKind
from zorio_widget.calls.session import CallSession
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.calls.targets import fail_unknown
from zorio_widget.routes.models import Route
from zorio_widget.scenarios import CallEvents
from zorio_widget.scenarios.call import Call
from zorio_widget.scenarios.callargs import checked_headers, reject_reason
from zorio_widget.scenarios.runner import ScenarioError

pytestmark = pytest.mark.timeout(60)
PhoneOf = Callable[[str], Phone]
RouteOf = Callable[..., Route]


@pytest.fixture(autouse=True)
def fresh_seen() -> None:
    scripts.SEEN.clear()


def board_empty(board: Switchboard) -> bool:
    return board.legs == {} and board.sessions == set() and board.capacity.in_use == 0 and board.bridge._legs == {}


async def test_answer_with_headers_properties_tones_messages_and_hangup(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    await route("7001", "tests.scenarios.scripts:answer_with_headers", {"ticket": "T-9"}, name="Help desk")
    alice = on_board("1001")
    a = await alice.dial("7001", caller_name="Alice A.", meta={"custom_data": "order 17"})
    await until(lambda: "call.answered" in alice.device.types(a))
    assert alice.device.last("call.answered")["headers"] == {"X-Ticket": "T-9"}
    seen = scripts.SEEN
    session = board.legs[a].session
    assert seen["before"] == "PROGRESSING" and seen["after"] == "CONNECTED"
    assert seen["id"] == str(session.uuid) and seen["incoming"] is True
    assert seen["callerid"] == "1001" and seen["number"] == "7001" and seen["display_name"] == "Alice A."
    assert seen["custom_data"] == "order 17"
    await until(lambda: "call.message" in alice.device.types(a))
    assert alice.device.last("call.message")["text"] == "hello from the scenario"

    alice.media(a).press("5")  # an RFC 4733 event from the caller
    await until(lambda: seen.get("tones") == ["5"])
    await alice.request("call.dtmf", a, digits="7#")
    await until(lambda: seen.get("tones") == ["5", "7", "#"])
    await alice.request("call.message", a, text="hi scenario")
    await until(lambda: seen.get("messages") == ["hi scenario"])

    await alice.request("call.hangup", a)
    await until(lambda: seen.get("ended") == "hangup")
    record = await CallRecord.objects.aget(uuid=session.uuid)
    assert record.end_reason == "hangup" and record.answered_at is not None and record.to_name == "Help desk"
    await until(lambda: board_empty(board))


@pytest.mark.parametrize(("code", "reason"), [(486, "busy"), (603, "rejected"), (480, "no-answer"),
                                              (408, "no-answer"), (404, "failed"), (503, "failed")])
async def test_reject_maps_its_code_to_the_callers_end_reason(
        board: Switchboard, on_board: PhoneOf, route: RouteOf, code: int, reason: str) -> None:
    await route("7002", "tests.scenarios.scripts:reject_with", {"code": code})
    alice = on_board("1001")
    a = await alice.dial("7002")
    await until(lambda: alice.ended(a) is not None)
    assert alice.ended(a) == reason
    assert alice.device.last("call.ended")["headers"] == {"X-Why": "test"}
    await until(lambda: board_empty(board))


def test_bad_values_are_refused_before_anything_changes() -> None:
    for bad in (200, 700, "486", True, None):
        with pytest.raises(ScenarioError):
            reject_reason(bad)  # type: ignore[arg-type]
    for headers in ({"Ticket": "1"}, {"X-Bad\n": "1"}, {"X-Ok": "two\nlines"}, {"X-Ok": 1}, "X-Ok"):
        with pytest.raises(ScenarioError):
            checked_headers(headers)  # type: ignore[arg-type]
    assert checked_headers({"X-Ok": "fine"}) == {"X-Ok": "fine"}


async def test_listeners_must_be_callable_and_events_known(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    await route("7003", "tests.scenarios.scripts:answer_with_headers")
    alice = on_board("1001")
    a = await alice.dial("7003")
    await until(lambda: "call.answered" in alice.device.types(a))
    call: Call = next(iter(board.legs[a].session.callee.endpoint._sink.calls.values()))  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        call.add_event_listener(CallEvents.Connected, "not a function")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        call.add_event_listener("Exploded", lambda event: None)
    calls: list[str] = []

    def listener(event: Any) -> None:
        calls.append(event.tone)

    call.add_event_listener("ToneReceived", listener)
    call.remove_event_listener(CallEvents.ToneReceived, listener)
    alice.media(a).press("1")
    await until(lambda: scripts.SEEN.get("tones") == ["1"])
    assert calls == []
    with pytest.raises(ScenarioError):
        call.custom_data("x" * 201)
    assert call.custom_data("ü" * 100) == "ü" * 100  # 200 bytes of UTF-8
    with pytest.raises(ScenarioError):
        await call.answer()  # already answered
    with pytest.raises(ScenarioError):
        await call.send_digits("12x")


@pytest.mark.parametrize("script", ["raises", "listener_raises"])
async def test_a_scenario_that_raises_ends_only_its_call(
        board: Switchboard, on_board: PhoneOf, route: RouteOf, script: str,
        caplog: pytest.LogCaptureFixture) -> None:
    await route("7004", f"tests.scenarios.scripts:{script}")
    await route("7005", "tests.scenarios.scripts:answer_with_headers")
    alice, bob, carol, dave = on_board("1001"), on_board("1002"), on_board("1003"), on_board("1004")
    b = await bob.dial("1003")  # an ordinary call goes on meanwhile
    await carol.request("call.answer", carol.incoming(), sdp="answer")
    d = await dave.dial("7005")  # and another scenario's call
    with caplog.at_level(logging.ERROR):
        a = await alice.dial("7004")
        await until(lambda: alice.ended(a) is not None)
    assert alice.ended(a) == "failed"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "raised" in r.getMessage()]
    assert len(errors) == 1 and errors[0].exc_info is not None  # the traceback, logged once
    assert bob.ended(b) is None and dave.ended(d) is None
    assert board.legs[b].session.is_live and board.legs[d].session.is_live


async def test_misconfigured_routes_and_a_scenario_that_never_answers_end_failed(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    alice = on_board("1001")
    await route("7006", "tests.scenarios.scripts:does_not_exist")
    await route("7007", "ivr", {"prompt": "Hi"})  # no options
    await route("7008", "tests.scenarios.scripts:returns_at_once")
    for number in ("7006", "7007", "7008"):
        a = await alice.dial(number)
        await until(lambda a=a: alice.ended(a) is not None)  # type: ignore[misc]
        assert alice.ended(a) == "failed", number
    await until(lambda: board_empty(board))


async def test_routes_apply_to_the_next_call_without_a_restart(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    alice = on_board("1001")
    a = await alice.dial("7010")
    assert alice.ended(a) == "failed"  # nothing answers 7010 yet
    made = await route("7010", "tests.scenarios.scripts:reject_with", {"code": 486})
    a = await alice.dial("7010")
    await until(lambda: alice.ended(a) is not None)
    assert alice.ended(a) == "busy"
    made.params = {"code": 603}
    await made.asave()
    a = await alice.dial("7010")
    await until(lambda: alice.ended(a) is not None)
    assert alice.ended(a) == "rejected"
    made.enabled = False
    await made.asave()
    assert alice.ended(await alice.dial("7010")) == "failed"


async def test_call_extension_rings_with_headers_and_media_goes_both_ways(
        board: Switchboard, on_board: PhoneOf, route: RouteOf) -> None:
    await route("7011", "tests.scenarios.scripts:bridge_to_extension", {"extension": "1002"}, name="Sales line")
    alice, bob = on_board("1001"), on_board("1002")
    a = await alice.dial("7011")
    await until(lambda: "call.incoming" in bob.device.types())
    incoming = bob.device.last("call.incoming")
    assert incoming["headers"] == {"X-Customer": "42"} and incoming["from"] == "7011"
    assert incoming["from_name"] == "Sales line"
    await until(lambda: "ringing" in scripts.SEEN)
    b = incoming["call_id"]
    await bob.request("call.answer", b, sdp="answer")
    await until(lambda: "connected" in scripts.SEEN)
    await until(lambda: alice.media(a).hears == f"forward<{b}>" and bob.media(b).hears == f"forward<{a}>")
    other: Call = scripts.SEEN["other"]
    assert other.state() == "CONNECTED" and not other.incoming() and other.number() == "1002"
    await bob.request("call.hangup", b)
    await until(lambda: alice.ended(a) == "hangup")  # the scenario hangs up when the agent does
    await until(lambda: board_empty(board), timeout_s=15)


async def trunk_originator_without_a_trunk(session: CallSession) -> None:
    """What the trunks' originator does for a tenant none of whose trunks takes the number."""
    await fail_unknown(session)


@pytest.mark.parametrize("sip", ["off", "on"])
async def test_call_pstn_without_a_trunk_fails_and_says_why(
        board: Switchboard, on_board: PhoneOf, route: RouteOf, sip: str) -> None:
    if sip == "on":  # the user agent runs, but the tenant has no trunk
        board.originators[RouteKind.UNKNOWN] = trunk_originator_without_a_trunk
    await route("7012", "tests.scenarios.scripts:dial_pstn")
    alice = on_board("1001")
    a = await alice.dial("7012")
    await until(lambda: alice.ended(a) is not None)
    other: Call = scripts.SEEN["other"]
    assert other.end_reason == "failed" and other.failure_detail == "no_trunk"
    failed = scripts.SEEN["failed"]
    assert failed is None or (failed.reason == "failed" and failed.error == "no_trunk")
    record = await CallRecord.objects.aget(uuid=other.session.uuid)
    assert record.from_number == "02871234567" and record.to_number == "0912345678" and record.end_reason == "failed"
