"""Agent state by the `agent.state` WebSocket message and by the REST API (same directory): answers,
refusals with their codes, and the agent's other devices told."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.routes.models import Route
from zorio_widget.scenarios.agents import get_directory
from zorio_widget.signalling.consumer import WebphoneConsumer
from zorio_widget.tenants.models import ApiKey, Extension
from zorio_widget.tenants.tokens import token_generator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]
ORIGIN = (b"origin", b"http://127.0.0.1:5173")


async def frame(ws: WebsocketCommunicator, data: dict[str, Any]) -> dict[str, Any]:
    await ws.send_to(text_data=json.dumps(data))
    return json.loads(await ws.receive_from(timeout=5))


async def test_agent_state_over_the_websocket_and_rest(extension: Extension) -> None:
    tenant = extension.tenant
    await Route.objects.acreate(tenant=tenant, number="8000", scenario="queue")
    token, _ = await sync_to_async(token_generator.make_token)(extension, 600)
    board = Switchboard(max_calls=4, ring_timeout_s=5)
    sockets = []
    for _ in range(2):
        ws = WebsocketCommunicator(WebphoneConsumer.as_asgi(board=board), "/ws/webphone/", headers=[ORIGIN])
        assert (await ws.connect())[0]
        assert (await frame(ws, {"type": "auth", "token": token}))["type"] == "registered"
        sockets.append(ws)
    first, second = sockets
    reply = await frame(first, {"type": "agent.state", "req_id": "a1", "state": "logged_in", "queue": "8000"})
    assert reply == {"type": "agent.state", "req_id": "a1", "state": "ready", "queues": ["8000"]}
    assert json.loads(await second.receive_from(timeout=5)) == {"type": "agent.state", "state": "ready",
                                                                "queues": ["8000"]}
    refused = await frame(first, {"type": "agent.state", "req_id": "a2", "state": "logged_in", "queue": "9999"})
    assert refused["type"] == "error" and refused["code"] == "invalid_target" and refused["req_id"] == "a2"
    bad = await frame(first, {"type": "agent.state", "req_id": "a3", "state": "asleep"})
    assert bad["code"] == "bad_request"
    assert (await frame(first, {"type": "agent.state", "state": "paused"}))["state"] == "paused"
    await second.receive_from(timeout=5)

    client = AsyncClient()
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    assert (await client.get("/api/webphone/agent/state", **auth)).json() == {"state": "paused", "queues": ["8000"]}
    ready = await client.post("/api/webphone/agent/state", {"state": "ready"}, content_type="application/json", **auth)
    assert ready.json() == {"state": "ready", "queues": ["8000"]}
    raw_key = (await sync_to_async(ApiKey.objects.create_key)(tenant, "crm"))[1]
    key = {"headers": {"Authorization": f"Api-Key {raw_key}"}}
    out = await client.post(f"/api/webphone/agents/{extension.number}/state", {"state": "logged_out"},
                            content_type="application/json", **key)
    assert out.json() == {"state": "logged_out", "queues": []}
    paused = await client.post(f"/api/webphone/agents/{extension.number}/state", {"state": "paused"},
                               content_type="application/json", **key)
    assert paused.status_code == 409 and paused.json()["code"] == "invalid_state"
    missing = await client.get("/api/webphone/agents/4242/state", **key)
    assert missing.status_code == 404
    assert (await client.get("/api/webphone/agent/state")).status_code == 401
    assert (await get_directory().agent(tenant.pk, extension.number)).state == "logged_out"
    for ws in sockets:
        await ws.disconnect()
