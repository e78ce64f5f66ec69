"""End to end on a live Daphne, delivered by the server process's own worker to local receivers
that check the signature: a real call's `call.started`, `call.answered` and `call.ended`; a card
saved through the REST API (`card.saved`) after one refused attempt, with both attempts in the
delivery log."""

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.calls.conftest import ORIGIN
from tests.live import LiveServer, manage, start_live_server
from zorio_widget.client import PhoneClient

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]

SECRET = "whsec_live-test-secret-0123456789"
CONFIGURE = """
from zorio_widget.tenants.models import Tenant
from zorio_widget.webhooks.models import WebhookEndpoint
endpoint = WebhookEndpoint.objects.filter(tenant__slug="demo").first()
endpoint = endpoint or WebhookEndpoint(tenant=Tenant.objects.get(slug="demo"))
endpoint.url = "{url}"
endpoint.secret = "{secret}"
endpoint.save()
"""
NEW_CALL = (
    "from django.utils import timezone; from zorio_widget.calls.models import CallRecord;"
    "from zorio_widget.tenants.models import Extension; a = Extension.objects.get(number='1001');"
    "now = timezone.now();"
    "print(CallRecord.objects.create(tenant=a.tenant, direction='outgoing', from_extension=a,"
    " from_number='1001', to_number='*44', started_at=now, ended_at=now, end_reason='hangup').uuid)"
)
ATTEMPTS = """
import json
from zorio_widget.webhooks.models import WebhookEvent
event = WebhookEvent.objects.get(event_type="card.saved")
print(json.dumps({"status": event.status, "attempts": [[a.number, a.status_code, a.error, a.node]
                  for a in event.attempt_log.order_by("number")]}))
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = start_live_server({"WEBHOOK_RETRY_DELAYS_S": "0.5", "NODE_NAME": "hooks-node"})
    yield live
    live.stop()


def save_card(server: LiveServer, token: str, call_uuid: str, card: dict) -> int:
    request = urllib.request.Request(
        f"{server.url}/api/webphone/calls/{call_uuid}/card", data=json.dumps({"card": card}).encode(),
        method="POST", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return int(response.status)


async def test_a_calls_events_reach_the_tenants_webhook_signed(server: LiveServer, receiver_factory) -> None:
    receiver = receiver_factory(SECRET, [200])
    manage(server, "shell", "-c", CONFIGURE.format(url=receiver.url, secret=SECRET))
    alice = await PhoneClient.connect(server.ws_url, server.token("1001"), origin=ORIGIN)
    try:
        await alice.registered()
        call = await alice.call("*44", None)
        await call.expect("call.answered")
        await call.hangup()
        await call.expect("call.ended")
        await call.close()
    finally:
        await alice.close()
    requests = await asyncio.to_thread(receiver.wait_for, 3, 20.0)
    assert len(requests) == 3 and all(r.signature_ok for r in requests)
    events = sorted((r.event for r in requests), key=lambda e: e["created_at"])
    assert [e["type"] for e in events] == ["call.started", "call.answered", "call.ended"]
    assert {e["data"]["call"]["uuid"] for e in events} == {call.uuid}
    assert len({e["id"] for e in events}) == 3
    assert events[2]["data"]["call"]["end_reason"] == "hangup" and events[2]["data"]["call"]["to"] == "*44"


async def test_a_saved_card_reaches_the_tenants_webhook_signed(server: LiveServer, receiver_factory) -> None:
    receiver = receiver_factory(SECRET, [500, 200])
    call_uuid = manage(server, "shell", "-c", NEW_CALL).split()[-1]  # a record written outside a call: no call events
    manage(server, "shell", "-c", CONFIGURE.format(url=receiver.url, secret=SECRET))
    token = server.token("1001")
    card = {"outcome": "callback", "note": "wants a quote"}
    assert await asyncio.to_thread(save_card, server, token, call_uuid, card) == 200

    requests = await asyncio.to_thread(receiver.wait_for, 2, 20.0)
    assert len(requests) == 2 and all(r.signature_ok for r in requests)
    event = requests[1].event
    assert event["type"] == "card.saved" and event["tenant"] == "demo"
    assert event["data"]["call"]["uuid"] == call_uuid and event["data"]["call"]["card"] == card
    assert event["data"]["extension"] == "1001"
    assert requests[0].body == requests[1].body

    for _ in range(50):
        log = json.loads(manage(server, "shell", "-c", ATTEMPTS).strip().splitlines()[-1])
        if log["status"] == "delivered":
            break
        await asyncio.sleep(0.2)
    assert log == {"status": "delivered",
                   "attempts": [[1, 500, "HTTP 500", "hooks-node"], [2, 200, "", "hooks-node"]]}
