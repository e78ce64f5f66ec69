"""`POST /api/webphone/calls` (Api-Key): the agent's devices ring showing the number, and once the
agent answers its leg goes on to `to` with the request's options on the record."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.test import AsyncClient

from tests.calls.fakes import Phone, until
from zorio_widget.calls import switchboard as switchboard_module
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.tenants.models import ApiKey, Extension, Tenant

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def api(board: Switchboard, demo_extensions: dict[str, Extension],
              monkeypatch: pytest.MonkeyPatch) -> tuple[AsyncClient, dict[str, dict[str, str]]]:
    monkeypatch.setattr(switchboard_module, "_switchboard", board)
    tenant_id = demo_extensions["1001"].tenant_id
    raw = (await sync_to_async(lambda: ApiKey.objects.create_key(Tenant.objects.get(pk=tenant_id), "crm"))())[1]
    return AsyncClient(), {"headers": {"Authorization": f"Api-Key {raw}"}}


async def test_click_to_call_rings_the_agent_then_dials(api, on_board: Callable[[str], Phone],
                                                        board: Switchboard) -> None:
    client, key = api
    alice, bob = on_board("1001"), on_board("1002")
    async with ThreadSensitiveContext():  # as Django's ASGIHandler runs each request (its test client does not)
        response = await client.post("/api/webphone/calls", {"from": "1001", "to": "1002",
                                                             "options": {"campaign_id": "C7", "lead_id": "L9"}},
                                     content_type="application/json", **key)
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "ringing"
    incoming = alice.device.last("call.incoming")
    assert incoming["from"] == "1002"  # the agent sees whom it will call
    a = incoming["call_id"]
    assert "call.incoming" not in bob.device.types()  # nothing dialled before the agent answers
    await alice.request("call.answer", a, sdp="answer")
    await until(lambda: "call.incoming" in bob.device.types())
    assert bob.device.last("call.incoming")["from"] == "1001"
    call = board.legs[a].session
    # the agent's leg is in the call to Bob now: the agent is told who and which record
    assert alice.device.last("call.party") == {"type": "call.party", "call_id": a, "uuid": str(call.uuid),
                                               "number": "1002", "name": "Bob"}
    assert str(call.uuid) != incoming["uuid"]
    b = bob.incoming()
    await bob.request("call.answer", b, sdp="answer")
    await until(lambda: alice.media(a).hears == f"forward<{b}>" and bob.media(b).hears == f"forward<{a}>")
    record = await CallRecord.objects.aget(uuid=call.uuid)
    assert (record.from_number, record.to_number, record.campaign_id, record.lead_id) == ("1001", "1002", "C7", "L9")
    await bob.request("call.hangup", b)
    await until(lambda: alice.ended(a) == "hangup")


async def test_click_to_call_refusals(api, on_board: Callable[[str], Phone]) -> None:
    client, key = api
    on_board("1001")

    async def post(body: object, **auth: object) -> tuple[int, str]:
        async with ThreadSensitiveContext():
            response = await client.post("/api/webphone/calls", body, content_type="application/json", **auth)
        return response.status_code, response.json()["code"]

    assert await post({"from": "1001", "to": "12ab"}, **key) == (400, "bad_request")
    assert await post({"from": "4242", "to": "1002"}, **key) == (400, "bad_request")
    assert await post({"from": "1003", "to": "1002"}, **key) == (409, "invalid_state")  # no device
    assert await post({"to": "1002"}, **key) == (400, "bad_request")
    assert await post({"from": "1001", "to": "1002", "options": []}, **key) == (400, "bad_request")
    assert await post({"from": "1001", "to": "1002"}) == (401, "unauthorized")
