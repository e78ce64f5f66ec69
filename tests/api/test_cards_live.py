"""A card schema cannot freeze the server: measured on a live Daphne process.

The card view runs in the server's process; with Python's backtracking `re`, `^(a+)+$` against
40 × "a" + "!" held the GIL long enough to stall every WebSocket on the process. Here the card is
posted while another connection pings the server, and both must keep answering at once.
"""

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest
import websockets

from tests.live import LiveServer, manage

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]

ORIGIN = "http://127.0.0.1:5173"
PING_INTERVAL_S = 0.05  # under the socket's rate limit (WS_RATE_PER_S)
NEW_CALL = (
    "from django.utils import timezone;"
    "from zorio_widget.calls.models import CallRecord;"
    "from zorio_widget.tenants.models import Extension;"
    "a = Extension.objects.get(tenant__slug='demo', number='1001');"
    "b = Extension.objects.get(tenant__slug='demo', number='1002');"
    "now = timezone.now();"
    "print(CallRecord.objects.create(tenant=a.tenant, direction='internal', from_extension=a, to_extension=b,"
    " from_number='1001', to_number='1002', started_at=now, ended_at=now, end_reason='hangup').uuid)"
)


def post_card(server: LiveServer, token: str, call_uuid: str, body: dict) -> tuple[int, dict, float]:
    request = urllib.request.Request(
        f"{server.url}/api/webphone/calls/{call_uuid}/card", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        status, payload = error.code, json.loads(error.read())
    return status, payload, time.perf_counter() - started


async def test_a_catastrophic_pattern_does_not_stall_the_server(daphne_server: LiveServer) -> None:
    call_uuid = manage(daphne_server, "shell", "-c", NEW_CALL).split()[-1]  # after the shell's own notice
    token = daphne_server.token("1001")
    evil = {"card": {"outcome": "a" * 40 + "!"},
            "schema": {"type": "object", "properties": {"outcome": {"type": "string", "pattern": "^(a+)+$"}}}}
    pongs: list[tuple[float, float]] = []  # (sent at, round trip), perf_counter seconds
    async with websockets.connect(daphne_server.ws_url, additional_headers={"Origin": ORIGIN}) as ws:
        await ws.send(json.dumps({"type": "auth", "token": daphne_server.token("1002")}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "registered"
        stop = asyncio.Event()

        async def ping() -> None:
            number = 0
            while not stop.is_set():
                number += 1
                sent = time.perf_counter()
                await ws.send(json.dumps({"type": "ping", "req_id": str(number)}))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if frame["type"] == "pong" and frame.get("req_id") == str(number):
                        break
                pongs.append((sent, time.perf_counter() - sent))
                await asyncio.sleep(PING_INTERVAL_S)

        pinger = asyncio.create_task(ping())
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        results = [await asyncio.to_thread(post_card, daphne_server, token, call_uuid, evil) for _ in range(3)]
        finished = time.perf_counter()
        await asyncio.sleep(0.3)
        stop.set()
        await pinger
    for status, payload, elapsed_s in results:
        assert status == 400 and payload["code"] == "bad_request", payload
        assert "does not match" in payload["message"]
        assert elapsed_s < 0.5
    assert len(pongs) >= 8
    assert max(round_trip for _sent, round_trip in pongs) < 0.25
    # Pings flowed before, across and after the card requests, with no gap.
    sent_at = [sent for sent, _round_trip in pongs]
    assert sent_at[0] < started and sent_at[-1] > finished
    assert max(later - earlier for earlier, later in zip(sent_at, sent_at[1:], strict=False)) < PING_INTERVAL_S + 0.25
    history = daphne_server.get_json("/api/webphone/calls", token)
    assert next(r for r in history["results"] if r["uuid"] == call_uuid)["card"] is None
