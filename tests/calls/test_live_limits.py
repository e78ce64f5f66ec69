"""Security findings 4 and 5 against real servers: a crashed process's records are closed by its
restart; one tenant cannot take every call slot; a call whose media never connects frees its slot."""

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.calls.conftest import CALLEE_HZ, ORIGIN
from tests.live import ROOT, LiveServer, manage, start_live_server, stop_process
from zorio_widget.client import PhoneClient

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

SECOND_TENANT = """
from zorio_widget.tenants.models import Extension, Tenant
t, _ = Tenant.objects.get_or_create(slug="globex", defaults={"name": "Globex", "allowed_origins": "http://127.0.0.1:*"})
Extension.objects.get_or_create(tenant=t, number="1001", defaults={"display_name": "Gina"})
"""


def _wait_for_port(server: LiveServer, process: "subprocess.Popen[bytes]") -> None:
    import socket

    port = int(server.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, server.log()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not come back")


def _restart(server: LiveServer) -> None:
    with server.log_path.open("ab") as log:
        server.process = subprocess.Popen(server.process.args, cwd=ROOT, env=server.env, stdout=log,
                                          stderr=subprocess.STDOUT)
    _wait_for_port(server, server.process)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.fixture
def crash_server() -> Iterator[LiveServer]:
    server = start_live_server({"NODE_NAME": f"crash-test-{os.getpid()}", "RECORD_HEARTBEAT_S": "0.5"})
    yield server
    server.stop()


async def _connect(server: LiveServer, extension: str, tenant: str | None = None) -> PhoneClient:
    token = server.token(extension) if tenant is None else manage(
        server, "webphone_token", extension, "--tenant", tenant).strip()
    client = await PhoneClient.connect(server.ws_url, token, origin=ORIGIN)
    await client.registered()
    return client


async def test_a_restarted_process_closes_the_records_a_crash_left_open(crash_server: LiveServer) -> None:
    server = crash_server
    alice, bob = await _connect(server, "1001"), await _connect(server, "1002")
    call = await alice.call("1002")
    incoming = await bob.expect("call.incoming")
    await bob.answer(incoming, CALLEE_HZ)
    await call.expect("call.answered")
    await asyncio.sleep(2.0)  # the owner stamps the live record every 0.5 s
    killed_at = time.time()
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    await alice.close()
    await bob.close()
    _restart(server)  # the same database, the same node name
    record = next(r for r in server.get_json("/api/webphone/calls", server.token("1001"))["results"]
                  if r["uuid"] == call.uuid)
    assert record["end_reason"] == "failed" and record["ended_at"], record
    ended_at = _parse(record["ended_at"]).timestamp()
    # Ended at the last sign of life before the crash, not at the restart.
    assert _parse(record["answered_at"]).timestamp() <= ended_at <= killed_at + 0.1
    assert killed_at - ended_at < 1.5
    assert record["duration"] > 1.0
    assert "closed 1 call record(s) left open" in server.log()


@pytest.fixture
def limited_server() -> Iterator[LiveServer]:
    # Its own database: the test changes the demo tenant's limit (CI's second pass shares PostgreSQL).
    database = Path(tempfile.mkdtemp(prefix="zorio-limits-")) / "db.sqlite3"
    server = start_live_server({"MAX_CALLS_PER_TENANT": "2", "MAX_CALLS_PER_EXTENSION": "1",
                                "MEDIA_CONNECT_TIMEOUT_S": "2", "DATABASE_URL": f"sqlite:///{database}"})
    manage(server, "shell", "-c", SECOND_TENANT)
    yield server
    stop_process(server.process)


@pytest.fixture
async def clients() -> AsyncIterator[list[PhoneClient]]:
    opened: list[PhoneClient] = []
    yield opened
    for client in opened:
        await client.close()


async def _refused(client: PhoneClient, destination: str = "*44") -> dict:
    pc, _tone = client.new_pc(440.0)
    await pc.setLocalDescription(await pc.createOffer())
    try:
        return await client.request({"type": "call.create", "destination": destination,
                                     "sdp": pc.localDescription.sdp}, "call.trying")
    finally:
        await pc.close()


async def test_one_tenant_cannot_take_every_call_slot(limited_server: LiveServer, clients: list) -> None:
    server = limited_server
    alice, bob, carol = [await _connect(server, n) for n in ("1001", "1002", "1003")]
    gina = await _connect(server, "1001", tenant="globex")
    clients.extend([alice, bob, carol, gina])
    first = await alice.call("*44")
    await first.expect("call.answered")
    reply = await _refused(alice)  # the extension's limit (1)
    assert reply["type"] == "error" and reply["code"] == "capacity" and "extension" in reply["message"]
    await (await bob.call("*44")).expect("call.answered")
    reply = await _refused(carol)  # the tenant's limit (2)
    assert reply["type"] == "error" and reply["code"] == "capacity" and "organisation" in reply["message"]
    await (await gina.call("*44")).expect("call.answered")  # another tenant is not affected
    await first.hangup()
    await first.expect("call.ended")
    await (await carol.call("*44")).expect("call.answered")  # the slot came back
    # The admin raises the tenant's limit: it applies to the next call, no restart.
    manage(server, "shell", "-c",
           "from zorio_widget.tenants.models import Tenant; Tenant.objects.filter(slug='demo').update(max_live_calls=3)")
    dave = await _connect(server, "1004")
    clients.append(dave)
    await (await dave.call("*44")).expect("call.answered")


async def test_a_call_whose_media_never_connects_ends_failed_and_frees_its_slot(
        limited_server: LiveServer, clients: list) -> None:
    server = limited_server
    alice = await _connect(server, "1001")
    clients.append(alice)
    pc, _tone = alice.new_pc(440.0)
    await pc.setLocalDescription(await pc.createOffer())
    # An offer without candidates whose answer is never applied: ICE can never start.
    sdp = "".join(line + "\r\n" for line in pc.localDescription.sdp.splitlines() if "a=candidate" not in line)
    started = time.monotonic()
    trying = await alice.request({"type": "call.create", "destination": "*44", "sdp": sdp}, "call.trying")
    assert trying["type"] == "call.trying"
    ended = await alice.expect("call.ended", timeout_s=10, call_id=trying["call_id"])
    assert ended["reason"] == "failed" and time.monotonic() - started < 6
    await pc.close()
    await (await alice.call("*44")).expect("call.answered")  # the extension's one slot is free again
    record = next(r for r in server.get_json("/api/webphone/calls", server.token("1001"))["results"]
                  if r["uuid"] == trying["uuid"])
    assert record["end_reason"] == "failed"
