"""A live server with its SIP user agent on, a SIPp carrier behind a trunk, and browsers (aiortc).

`TrunkLab` is one live Daphne (``SIP_BIND`` on a free loopback port) with the demo tenant, plus
helpers: `carrier()` starts a SIPp UAS from ``tests/trunks/scenarios/`` (or ``tests/sip/scenarios/``)
and points the tenant's trunk at it (``manage.py add_trunk``, so the running server reloads it:
changes apply to the next call); `caller()` starts a SIPp UAC calling one of our DIDs; `phone()`
registers a browser (`PhoneClient`). Records are read back through the REST API.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import LiveServer, free_sip_bind, manage, start_live_server
from tests.sip.sipp import Sipp
from zorio_widget.client import PhoneClient

ORIGIN = "http://127.0.0.1:5173"
SCENARIOS = Path(__file__).parent / "scenarios"
DID = "+842873000100"


def near(hz: float, target: float) -> bool:
    return abs(hz - target) < 25


@dataclass
class TrunkLab:
    server: LiveServer
    workdir: Path
    sip_port: int
    clients: list[PhoneClient] = field(default_factory=list)
    sipps: list[Sipp] = field(default_factory=list)

    async def phone(self, extension: str) -> PhoneClient:
        client = await PhoneClient.connect(self.server.ws_url, self.server.token(extension), origin=ORIGIN)
        await client.registered()
        self.clients.append(client)
        return client

    async def carrier(self, scenario: str, *, template: dict[str, str] | None = None, extra: tuple[str, ...] = (),
                      trunk_args: tuple[str, ...] = (), rtp_echo: bool = True) -> Sipp:
        """A SIPp carrier (UAS) the demo tenant's trunk `carrier` now points at."""
        path = SCENARIOS / scenario
        sipp = Sipp(str(path) if path.exists() else scenario, self.workdir,
                    template={"LAW": "0", "RING_MS": "500", **(template or {})}, extra=(*(("-rtp_echo",) if rtp_echo else ()), *extra))
        await sipp.start()
        self.sipps.append(sipp)
        await asyncio.to_thread(manage, self.server, "add_trunk", "demo", "carrier", "--uri",
                                f"sip:acct:s3cret!@127.0.0.1:{sipp.port}", "--did", f"{DID}=1001", *trunk_args)
        return sipp

    async def point_trunk_at(self, sipp: Sipp, dids: dict[str, str] | None = None) -> None:
        """The demo tenant's trunk `carrier` is `sipp`'s address (where inbound INVITEs come from),
        with `dids` (number -> target; by default `DID` rings 1001)."""
        did_args = [arg for number, target in (dids or {DID: "1001"}).items() for arg in ("--did", f"{number}={target}")]
        await asyncio.to_thread(manage, self.server, "add_trunk", "demo", "carrier", "--uri",
                                f"sip:acct:s3cret!@127.0.0.1:{sipp.port}", *did_args)

    async def caller(self, scenario: str, number: str, *, template: dict[str, str] | None = None,
                     extra: tuple[str, ...] = ()) -> Sipp:
        """A SIPp carrier (UAC) calling `number` on our user agent, not started yet (point the trunk
        at it first: ``point_trunk_at``)."""
        path = SCENARIOS / scenario
        sipp = Sipp(str(path) if path.exists() else scenario, self.workdir, remote=f"127.0.0.1:{self.sip_port}",
                    template=template, extra=("-s", number, *extra))
        self.sipps.append(sipp)
        return sipp

    def records(self, extension: str = "1001") -> list[dict]:
        token = self.server.token(extension)
        request = urllib.request.Request(f"{self.server.url}/api/webphone/calls",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return list(json.loads(response.read())["results"])

    async def record(self, uuid: str, extension: str = "1001", within_s: float = 10.0) -> dict:
        """The call's record once it is closed (and its SIP code written)."""
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            found = [r for r in await asyncio.to_thread(self.records, extension) if r["uuid"] == uuid]
            if found and found[0]["ended_at"] and found[0]["sip_code"] is not None:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"record {uuid} not closed with a SIP code: {found}")
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        for sipp in self.sipps:
            await sipp.stop()


@pytest.fixture(scope="module")
def trunk_server() -> Iterator[tuple[LiveServer, int]]:
    bind = free_sip_bind()
    server = start_live_server({"SIP_BIND": bind, "RING_TIMEOUT_S": "20", "RTP_PORT_MIN": "47000",
                                "RTP_PORT_MAX": "47999"})
    yield server, int(bind.rsplit(":", 1)[1])
    server.stop()


@pytest.fixture
async def lab(trunk_server: tuple[LiveServer, int], tmp_path: Path) -> AsyncIterator[TrunkLab]:
    server, port = trunk_server
    trunk_lab = TrunkLab(server, tmp_path, port)
    yield trunk_lab
    await trunk_lab.close()
