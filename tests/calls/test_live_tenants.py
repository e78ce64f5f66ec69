"""Two tenants on one live server: tenant B, provisioned with `manage.py add_tenant`, cannot touch
tenant A's calls or reach A's extensions, even with the same extension number."""

import dataclasses
import uuid

import pytest

from tests.calls.conftest import CALLER_HZ, ORIGIN, near
from tests.live import LiveServer, manage
from zorio_widget.client import PhoneClient

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]


def add_tenant(server: LiveServer, *args: str) -> LiveServer:
    """Provisions a tenant with `add_tenant`; the returned view of `server` mints that tenant's tokens."""
    output = manage(server, "add_tenant", *args)
    key = next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith("API key: "))
    return dataclasses.replace(server, api_key=key)


async def test_another_tenants_token_cannot_control_a_call_or_reach_its_extensions(
        phone, daphne_server: LiveServer) -> None:
    slug = f"globex-{uuid.uuid4().hex[:8]}"
    globex = add_tenant(daphne_server, slug, "Globex", "--origin", "http://127.0.0.1:*",
                        "--extension", "1001:Mallory")
    alice, bob = await phone("1001"), await phone("1002")
    call = await alice.call("*43", CALLER_HZ)  # the echo test: alice hears herself
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ))

    mallory = await PhoneClient.connect(globex.ws_url, globex.token("1001"), origin=ORIGIN)
    try:
        registered = await mallory.registered()
        assert registered["extension"] == "1001" and registered["calls"] == []
        for frame in ({"type": "call.hangup", "call_id": call.call_id},
                      {"type": "call.mute", "call_id": call.call_id},
                      {"type": "call.hold", "call_id": call.call_id},
                      {"type": "call.dtmf", "call_id": call.call_id, "digits": "1"},
                      {"type": "call.transfer", "call_id": call.call_id, "target": "1002"}):
            reply = await mallory.request(frame, "never")
            assert reply["type"] == "error" and reply["code"] in {"forbidden", "unknown_call"}, (frame, reply)
        # Dialling A's extension number reaches nobody of A's: it is not in B's tenant.
        theirs = await mallory.call("1002", 550.0)
        assert (await theirs.expect("call.ended"))["reason"] == "failed"
    finally:
        await mallory.close()

    # A's call went on untouched: still up, unmuted, still echoing; bob never rang.
    assert not [f for f in alice.inbox if f["type"] in {"call.ended", "call.held", "call.muted"}]
    assert await call.probe.wait_for(lambda p: p.rms() > 0.05 and near(p.dominant_hz(), CALLER_HZ))
    assert not [f for f in bob.history if f["type"] == "call.incoming"]
    await call.hangup()
    assert (await call.expect("call.ended"))["reason"] == "hangup"
    # B's records are B's: its history does not list A's call.
    history = globex.get_json("/api/webphone/calls", globex.token("1001"))
    assert call.uuid not in [r["uuid"] for r in history["results"]]
