"""Every frame a live server sends passes the check the SDK applies before reading a frame.

The SDK drops a server frame that does not match the generated field table (frontend/src/frames.ts,
`SERVER_FIELDS` from `SERVER_MESSAGES`): a field missing or of another type would silently lose a
call event in the browser. This drives a whole call through a real Daphne server with real aiortc
peers, re-attaches after a drop, and checks every frame received with the same rules.
"""

import asyncio
from typing import Any

import pytest

from tests.live import LiveServer
from zorio_widget.client import PhoneClient
from zorio_widget.protocol.messages import SERVER_MESSAGES, Field

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]

ORIGIN = "http://127.0.0.1:5173"
_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list) and all(isinstance(item, dict) for item in v),
}


def _field_problem(spec: Field, frame: dict[str, Any]) -> str | None:
    """The rules of frames.ts: a nullable field may be null or absent (the server omits None)."""
    if spec.name not in frame:
        return None if (not spec.required or spec.nullable) else f"'{spec.name}' is missing"
    value = frame[spec.name]
    if value is None:
        return None if spec.nullable else f"'{spec.name}' is null"
    return None if _CHECKS[spec.type](value) else f"'{spec.name}' is not {spec.type}"


def sdk_problem(frame: dict[str, Any]) -> str | None:
    message = SERVER_MESSAGES.get(frame.get("type"))  # type: ignore[arg-type]
    if message is None:
        return f"unknown type {frame.get('type')!r}"
    problems = [p for p in (_field_problem(f, frame) for f in message.fields) if p]
    return "; ".join(problems) or None


def test_the_check_refuses_what_the_sdk_refuses() -> None:
    assert sdk_problem({"type": "call.ended", "call_id": "c"}) == "'reason' is missing"
    assert sdk_problem({"type": "call.held", "call_id": "c", "by": 1}) == "'by' is not str"
    assert sdk_problem({"type": "ice.candidate", "call_id": "c", "candidate": "x"}) is None
    assert sdk_problem({"type": "call.nonsense"}) == "unknown type 'call.nonsense'"
    assert sdk_problem({"type": "call.party", "call_id": "c", "uuid": "u", "number": "1003"}) == "'name' is missing"


async def _phone(server: LiveServer, extension: str) -> PhoneClient:
    client = await PhoneClient.connect(server.ws_url, server.token(extension), origin=ORIGIN)
    await client.registered()
    return client


async def test_every_frame_of_a_whole_call_passes_the_sdks_check(daphne_server: LiveServer) -> None:
    alice, bob = await _phone(daphne_server, "1001"), await _phone(daphne_server, "1002")
    clients = [alice, bob]
    try:
        assert (await alice.request({"type": "ping"}, "pong"))["type"] == "pong"
        await alice.send({"type": "ping"})  # no req_id: the pong has none either
        await alice.expect("pong")
        call = await alice.call("1002", 440.0, options={"campaign_id": "spring", "caller_name": "Alice A."})
        incoming = await bob.expect("call.incoming")
        await call.expect("call.ringing")
        answered = await bob.answer(incoming, 880.0)
        await call.expect("call.answered")
        await answered.expect("call.answered")
        for request, reply in (("call.hold", "call.held"), ("call.unhold", "call.resumed"),
                               ("call.mute", "call.muted"), ("call.unmute", "call.unmuted")):
            await call.send(request)
            await call.expect(reply)
        await call.send("call.dtmf", digits="1#")
        await answered.expect("call.dtmf_received", digit="1")
        refused = await alice.request({"type": "call.hold", "call_id": "no-such-call"}, "call.held")
        assert refused["type"] == "error"
        await alice.send_raw("{not json")
        await alice.expect("error")
        # Bob's socket drops and a new one re-attaches the live call (`registered.calls`).
        await bob.ws.close()
        await asyncio.sleep(0.5)
        bob2 = await _phone(daphne_server, "1002")
        clients.append(bob2)
        assert [c["call_id"] for c in bob2.history[0]["calls"]] == [answered.call_id]
        await call.hangup()
        await call.expect("call.ended")
        await bob2.expect("call.ended")
    finally:
        for client in clients:
            await client.close()
    frames = [frame for client in clients for frame in client.history]
    seen = {frame["type"] for frame in frames}
    assert seen >= {"registered", "pong", "call.trying", "sdp.answer", "call.incoming", "call.ringing",
                    "call.answered", "call.held", "call.resumed", "call.muted", "call.unmuted",
                    "call.dtmf_received", "error", "call.ended"}, seen
    problems = [(frame["type"], problem) for frame in frames if (problem := sdk_problem(frame))]
    assert problems == []
