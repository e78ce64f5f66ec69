"""/healthz, /readyz and /metrics over real HTTP on a live Daphne, during a real call, with JSON logs.

The server runs with LOG_FORMAT=json and a METRICS_TOKEN: the metrics need the token, show the call
(two extensions, real aiortc peers with audio both ways) while it is live and 0 after, and every
line the server printed is one JSON object, the access log's `?token=` redacted.
"""

import asyncio
import json
from collections.abc import Iterator

import pytest

from tests.calls.conftest import CALLEE_HZ, CALLER_HZ, ORIGIN, near
from tests.live import LiveServer, start_live_server
from tests.ops.conftest import get_json, http_get, samples, value
from zorio_widget.client import PhoneClient

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture(scope="module")
def ops_server() -> Iterator[LiveServer]:
    server = start_live_server({"LOG_FORMAT": "json", "METRICS_TOKEN": METRICS_TOKEN, "NODE_NAME": "ops-test-node"})
    yield server
    server.stop()


def scrape(server: LiveServer) -> dict:
    status, _headers, body = http_get(f"{server.url}/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200, body
    return samples(body.decode())


async def scrape_async(server: LiveServer) -> dict:
    return await asyncio.to_thread(scrape, server)


def test_healthz_answers_ok(ops_server: LiveServer) -> None:
    assert get_json(f"{ops_server.url}/healthz") == (200, {"status": "ok"})


def test_readyz_checks_the_database_and_the_channel_layer(ops_server: LiveServer) -> None:
    status, body = get_json(f"{ops_server.url}/readyz")
    assert (status, body) == (200, {"status": "ok", "checks": {"database": "ok", "channel_layer": "ok"}})


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {METRICS_TOKEN}"},
                                     {"Authorization": f"Bearer {METRICS_TOKEN}x"}])
def test_metrics_need_the_token(ops_server: LiveServer, headers: dict[str, str]) -> None:
    status, response_headers, body = http_get(f"{ops_server.url}/metrics", headers)
    assert status == 401 and json.loads(body)["code"] == "unauthorized"
    assert response_headers["WWW-Authenticate"].startswith("Bearer")


async def test_metrics_follow_a_live_call(ops_server: LiveServer) -> None:
    before = await scrape_async(ops_server)
    assert value(before, "zorio_live_calls", tenant="") == 0
    assert value(before, "zorio_capacity_limit_calls") == 120
    assert value(before, "zorio_node_info", node="ops-test-node") == 1
    assert value(before, "zorio_call_layer_readable") == 1
    alice = await PhoneClient.connect(ops_server.ws_url, ops_server.token("1001"), origin=ORIGIN)
    bob = await PhoneClient.connect(ops_server.ws_url, ops_server.token("1002"), origin=ORIGIN)
    try:
        await alice.registered()
        await bob.registered()
        call = await alice.call("1002", CALLER_HZ)
        incoming = await bob.expect("call.incoming")
        answered = await bob.answer(incoming, CALLEE_HZ)
        await call.expect("call.answered")
        assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLEE_HZ))
        assert await answered.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ))

        during = await scrape_async(ops_server)
        assert value(during, "zorio_live_calls", tenant="demo") == 1
        assert value(during, "zorio_call_legs", tenant="demo") == 2
        assert value(during, "zorio_registered_devices", tenant="demo") == 2
        assert value(during, "zorio_capacity_in_use_calls") == 1
        assert value(during, "zorio_websocket_connections") == 2
        assert value(during, "zorio_relayed_packets_total") > 0  # audio went both ways through the relay
        assert value(during, "zorio_media_received_bytes_total") > 0
        assert value(during, "zorio_media_sent_bytes_total") > 0
        assert value(during, "zorio_event_loop_lag_seconds_count") > 0
        # Set-up time of the call, from placing to answer (the record's started_at to answered_at).
        assert value(during, "zorio_call_setup_seconds_count", tenant="demo") == 1
        assert 0 < value(during, "zorio_call_setup_seconds_sum", tenant="demo") < 30

        await call.hangup()
        await call.expect("call.ended")
        await answered.expect("call.ended")
        for _ in range(50):  # the legs close just after call.ended is sent
            after = await scrape_async(ops_server)
            if value(after, "zorio_call_legs", tenant="") == 0:
                break
            await asyncio.sleep(0.1)
        assert value(after, "zorio_live_calls", tenant="") == 0
        assert value(after, "zorio_call_legs", tenant="") == 0
        assert value(after, "zorio_capacity_in_use_calls") == 0
        # Counters keep what the ended legs carried.
        for name in ("zorio_relayed_packets_total", "zorio_media_received_bytes_total",
                     "zorio_media_sent_bytes_total", "zorio_media_packets_received_total"):
            assert value(after, name) >= value(during, name) > 0, name
    finally:
        await alice.close()
        await bob.close()
        await call.close()
    for _ in range(50):
        if value(await scrape_async(ops_server), "zorio_websocket_connections") == 0:
            break
        await asyncio.sleep(0.1)
    assert value(await scrape_async(ops_server), "zorio_websocket_connections") == 0


async def test_every_log_line_is_json_and_tokens_are_redacted(ops_server: LiveServer) -> None:
    token = ops_server.token("1003")
    client = await PhoneClient.connect(ops_server.ws_url, token, origin=ORIGIN, query_token=True)
    try:
        await client.registered()
        call = await client.call("*44", None)  # a call, so that there are call lines
        await call.expect("call.answered")
        await call.hangup()
        await call.expect("call.ended")
        await call.close()
    finally:
        await client.close()
    status, _headers, _body = await asyncio.to_thread(http_get, f"{ops_server.url}/softphone/?token={token}&tenant=demo")
    assert status == 200
    await asyncio.sleep(0.5)  # the access lines are written once the requests are done
    lines = [line for line in ops_server.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # raises on any line that is not JSON
    assert records and all({"timestamp", "level", "logger", "message", "process"} <= set(r) for r in records)
    assert {r["process"] for r in records} == {"ops-test-node"}
    access = [r for r in records if r["logger"] == "zorio_widget.access" and "/softphone/?token=" in r["message"]]
    assert access and all('"GET /softphone/?token=***&tenant=demo" 200' in r["message"] for r in access)
    assert token not in ops_server.log()
    call_lines = [r for r in records if r["message"].startswith("call ")]
    assert call_lines and all(r.get("call_uuid") and r["call_uuid"] in r["message"] for r in call_lines)
