"""End to end on a live Daphne: a real call, a card saved through the REST API, the `card.saved`
webhook delivered by the server process's own worker to a local receiver that checks the
signature, after one refused attempt; the attempts are in the delivery log."""

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
endpoint = WebhookEndpoint(tenant=Tenant.objects.get(slug="demo"), url="{url}")
endpoint.secret = "{secret}"
endpoint.save()
"""
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


async def test_a_saved_card_reaches_the_tenants_webhook_signed(server: LiveServer, receiver_factory) -> None:
    receiver = receiver_factory(SECRET, [500, 200])
    manage(server, "shell", "-c", CONFIGURE.format(url=receiver.url, secret=SECRET))
    token = server.token("1001")
    alice = await PhoneClient.connect(server.ws_url, token, origin=ORIGIN)
    try:
        await alice.registered()
        call = await alice.call("*44", None)
        await call.expect("call.answered")
        await call.hangup()
        await call.expect("call.ended")
        await call.close()
    finally:
        await alice.close()
    card = {"outcome": "callback", "note": "wants a quote"}
    assert await asyncio.to_thread(save_card, server, token, call.uuid, card) == 200

    requests = await asyncio.to_thread(receiver.wait_for, 2, 20.0)
    assert len(requests) == 2 and all(r.signature_ok for r in requests)
    event = requests[1].event
    assert event["type"] == "card.saved" and event["tenant"] == "demo"
    assert event["data"]["call"]["uuid"] == call.uuid and event["data"]["call"]["card"] == card
    assert event["data"]["extension"] == "1001"
    assert requests[0].body == requests[1].body

    for _ in range(50):
        log = json.loads(manage(server, "shell", "-c", ATTEMPTS).strip().splitlines()[-1])
        if log["status"] == "delivered":
            break
        await asyncio.sleep(0.2)
    assert log == {"status": "delivered",
                   "attempts": [[1, 500, "HTTP 500", "hooks-node"], [2, 200, "", "hooks-node"]]}
