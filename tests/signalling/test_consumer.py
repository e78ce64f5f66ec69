"""The consumer at Channels level: auth, origin, validation and error codes (no live server)."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from zorio_widget.asgi import application
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.signalling.consumer import WebphoneConsumer
from zorio_widget.tenants.models import Extension, Tenant
from zorio_widget.tenants.tokens import WebphoneTokenGenerator

ALLOWED = (b"origin", b"http://127.0.0.1:5173")


@pytest.fixture
def board() -> Switchboard:
    """The test's own switchboard, given to each consumer it opens (`as_asgi(board=...)`)."""
    return Switchboard(max_calls=10, ring_timeout_s=5)


_OPENED: list[WebsocketCommunicator] = []


@pytest.fixture(autouse=True)
async def _disconnect_every_socket() -> AsyncIterator[None]:
    """Every consumer a test opened is disconnected before its event loop closes: a consumer left
    running would be cancelled inside the Redis layer's blocking receive (CI's second pass)."""
    yield
    while _OPENED:
        ws = _OPENED.pop()
        try:
            await ws.disconnect()
        except Exception:  # the server side already closed it
            pass


async def _open(board: Switchboard, path: str = "/ws/webphone/",
                origin: tuple[bytes, bytes] | None = ALLOWED) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(WebphoneConsumer.as_asgi(board=board), path, headers=[origin] if origin else [])
    connected, _ = await ws.connect()
    assert connected
    _OPENED.append(ws)
    return ws


async def _send(ws: WebsocketCommunicator, frame: dict[str, Any] | str) -> dict[str, Any]:
    await ws.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await ws.receive_from(timeout=5))


@pytest.fixture
async def registered(token_for: Callable[..., str], board: Switchboard) -> AsyncIterator[WebsocketCommunicator]:
    ws = await _open(board)
    reply = await _send(ws, {"type": "auth", "token": token_for("1001")})
    assert reply["type"] == "registered"
    yield ws
    await ws.disconnect()


async def test_auth_frame_registers(token_for: Callable[..., str], board: Switchboard) -> None:
    ws = await _open(board)
    reply = await _send(ws, {"type": "auth", "token": token_for("1001"), "req_id": "a1"})
    assert reply == {"type": "registered", "extension": "1001", "req_id": "a1", "calls": [],
                     "user": {"username": "alice", "display_name": "Alice"}}
    tenant = await Tenant.objects.aget(slug="demo")
    assert len(board.devices_here(tenant.pk, "1001")) == 1
    await ws.disconnect()
    assert board.devices_here(tenant.pk, "1001") == []


async def test_query_token_registers(token_for: Callable[..., str], board: Switchboard) -> None:
    ws = await _open(board, f"/ws/webphone/?token={token_for('1002')}")
    reply = json.loads(await ws.receive_from(timeout=5))
    assert reply["type"] == "registered" and reply["extension"] == "1002"
    await ws.disconnect()


async def test_the_asgi_application_serves_the_consumer_at_its_path(token_for: Callable[..., str]) -> None:
    ws = WebsocketCommunicator(application, "/ws/webphone/", headers=[ALLOWED])
    assert (await ws.connect())[0]
    _OPENED.append(ws)
    reply = await _send(ws, {"type": "auth", "token": token_for("1001")})
    assert reply["type"] == "registered" and reply["extension"] == "1001"


@pytest.mark.parametrize("token", ["garbage", ""])
async def test_bad_token_is_unauthorized_and_closed(token: str, demo: None, board: Switchboard) -> None:
    ws = await _open(board)
    await ws.send_to(text_data=json.dumps({"type": "auth", "token": token}))
    reply = json.loads(await ws.receive_from(timeout=5))
    assert reply["code"] == "unauthorized"
    assert (await ws.receive_output(timeout=5))["code"] == 4401


async def test_expired_token_is_unauthorized(demo: None, board: Switchboard) -> None:
    class Past(WebphoneTokenGenerator):
        def _now(self) -> float:
            return 1_000_000.0

    token, _ = Past().make_token(await Extension.objects.aget(number="1001"), 60)
    ws = await _open(board)
    reply = await _send(ws, {"type": "auth", "token": token})
    assert reply["code"] == "unauthorized" and "expired" in reply["message"]


async def test_foreign_origin_is_forbidden_with_4403(token_for: Callable[..., str], board: Switchboard) -> None:
    ws = await _open(board, origin=(b"origin", b"https://evil.example"))
    reply = await _send(ws, {"type": "auth", "token": token_for("1001")})
    assert reply["code"] == "forbidden"
    assert (await ws.receive_output(timeout=5))["code"] == 4403


async def test_disabled_extension_cannot_register(token_for: Callable[..., str], board: Switchboard) -> None:
    token = token_for("1003")
    await Extension.objects.filter(number="1003").aupdate(enabled=False)
    ws = await _open(board)
    reply = await _send(ws, {"type": "auth", "token": token})
    assert reply["code"] == "unauthorized"


async def test_frames_before_auth_are_unauthorized_but_connection_stays(demo: None, board: Switchboard) -> None:
    ws = await _open(board)
    reply = await _send(ws, {"type": "call.hangup", "call_id": "c1", "req_id": "x"})
    assert reply["code"] == "unauthorized" and reply["req_id"] == "x"
    assert (await _send(ws, {"type": "ping", "req_id": "p"})) == {"type": "pong", "req_id": "p"}
    await ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{oops", "invalid_json"),
        ({"type": "call.fly"}, "unknown_type"),
        ({"type": "call.create", "req_id": "r", "sdp": "v=0"}, "bad_request"),
        ({"type": "call.hangup", "call_id": "nope", "req_id": "r"}, "unknown_call"),
        ({"type": "call.answer", "call_id": "nope", "sdp": "v=0"}, "unknown_call"),
        ({"type": "call.mute", "call_id": "nope"}, "unknown_call"),
        ({"type": "call.create", "req_id": "r", "destination": "call me maybe", "sdp": "v=0"}, "invalid_target"),
        ({"type": "call.create", "req_id": "r", "destination": "", "sdp": "v=0"}, "invalid_target"),
        ({"type": "call.create", "req_id": "r", "destination": "1002", "sdp": "garbage"}, "bad_sdp"),
        ({"type": "auth", "token": "again", "req_id": "r"}, "bad_request"),
    ],
)
async def test_bad_input_gets_its_code_and_connection_stays(
    registered: WebsocketCommunicator, frame: Any, code: str
) -> None:
    reply = await _send(registered, frame)
    assert reply["type"] == "error" and reply["code"] == code, reply
    if isinstance(frame, dict) and "req_id" in frame:
        assert reply["req_id"] == frame["req_id"]
    assert (await _send(registered, {"type": "ping", "req_id": "after"}))["type"] == "pong"


async def test_bad_sdp_creates_no_call_and_no_record(registered: WebsocketCommunicator, board: Switchboard) -> None:
    from zorio_widget.calls.models import CallRecord

    reply = await _send(registered, {"type": "call.create", "destination": "1002", "sdp": "v=0\r\nnot sdp"})
    assert reply["code"] == "bad_sdp"
    assert board.legs == {} and board.sessions == set() and board.capacity.in_use == 0
    assert await CallRecord.objects.acount() == 0


async def test_capacity_guard(registered: WebsocketCommunicator, board: Switchboard) -> None:
    board.capacity.limit = 0
    reply = await _send(registered, {"type": "call.create", "req_id": "r", "destination": "1002", "sdp": "v=0"})
    assert reply["code"] == "capacity"


async def test_oversize_frame_is_bad_request(registered: WebsocketCommunicator) -> None:
    reply = await _send(registered, json.dumps({"type": "ping", "pad": "x" * 70000}))
    assert reply["code"] == "bad_request"


async def test_rate_limit_drops_floods_then_recovers(registered: WebsocketCommunicator) -> None:
    codes = []
    for i in range(100):
        await registered.send_to(text_data=json.dumps({"type": "ping", "req_id": str(i)}))
    for _ in range(100):
        codes.append(json.loads(await registered.receive_from(timeout=5)).get("code", "pong"))
    assert "rate_limited" in codes and codes.count("pong") >= 50


async def test_another_tenants_call_id_is_forbidden_and_changes_nothing(
    registered: WebsocketCommunicator, board: Switchboard
) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection

    from zorio_widget.client.audio import ToneTrack
    from zorio_widget.tenants.tokens import token_generator

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(ToneTrack(440.0))
    await pc.setLocalDescription(await pc.createOffer())
    trying = await _send(registered, {"type": "call.create", "req_id": "c1", "destination": "*43",
                                      "sdp": pc.localDescription.sdp})
    assert trying["type"] == "call.trying"
    call_id = trying["call_id"]

    other = await Tenant.objects.acreate(name="Globex", slug="globex", allowed_origins="http://127.0.0.1:*")
    intruder_ext = await Extension.objects.acreate(tenant=other, number="1001", display_name="Mallory")
    intruder = await _open(board)
    reply = await _send(intruder, {"type": "auth", "token": token_generator.make_token(intruder_ext, 60)[0]})
    assert reply["type"] == "registered"
    for frame in ({"type": "call.hangup", "call_id": call_id, "req_id": "x1"},
                  {"type": "call.mute", "call_id": call_id, "req_id": "x2"},
                  {"type": "call.transfer", "call_id": call_id, "target": "1002", "req_id": "x3"}):
        reply = await _send(intruder, frame)
        assert reply["code"] == "forbidden" and reply["call_id"] == call_id, reply
    leg = board.legs[call_id]
    assert leg.session.is_live and not leg.muted  # untouched
    # The owner still controls it.
    frames = []
    await registered.send_to(text_data=json.dumps({"type": "call.hangup", "call_id": call_id}))
    while not frames or frames[-1]["type"] != "call.ended":
        frames.append(json.loads(await registered.receive_from(timeout=5)))
    assert frames[-1]["reason"] == "hangup"
    await intruder.disconnect()
    await pc.close()


# --- malformed input of any depth, and server bugs (security findings 9) ---------------------

async def test_deeply_nested_frame_is_invalid_json_and_the_socket_stays_up(registered: WebsocketCommunicator) -> None:
    for deep in ("[" * 10000 + "]" * 10000, '{"type": "ping", "x": ' + "[" * 5000 + "]" * 5000 + "}",
                 '{"type": "call.create", "options": {"meta": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}}"):
        reply = await _send(registered, deep)
        assert reply["type"] == "error" and reply["code"] == "invalid_json", reply
    # Brackets inside strings are not nesting.
    reply = await _send(registered, {"type": "ping", "req_id": "[" * 50})
    assert reply == {"type": "pong", "req_id": "[" * 50}


class _BrokenBoard(Switchboard):
    async def create_call(self, device: Any, frame: Any) -> None:
        raise RuntimeError("a bug in the call layer")


async def test_a_server_bug_is_reported_as_server_error_and_costs_only_that_request(
        token_for: Callable[..., str]) -> None:
    board = _BrokenBoard(max_calls=10, ring_timeout_s=5)
    ws = WebsocketCommunicator(WebphoneConsumer.as_asgi(board=board), "/ws/webphone/", headers=[ALLOWED])
    assert (await ws.connect())[0]
    _OPENED.append(ws)
    assert (await _send(ws, {"type": "auth", "token": token_for("1001")}))["type"] == "registered"
    reply = await _send(ws, {"type": "call.create", "req_id": "c1", "destination": "1002", "sdp": "v=0"})
    assert reply["type"] == "error" and reply["code"] == "server_error" and reply["req_id"] == "c1"
    assert await _send(ws, {"type": "ping", "req_id": "p1"}) == {"type": "pong", "req_id": "p1"}
