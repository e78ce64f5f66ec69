"""`ZorioWebphone.diagnose()` in Chromium against a real coturn (Debian's `turnserver`).

The live server hands out TURN REST-API credentials (`zorio_widget/tenants/ice.py`); coturn runs with
`use-auth-secret`, so a relay candidate proves those ephemeral credentials are accepted by the real
thing, and a wrong secret proves diagnose reports the refusal. coturn listens on this machine's
non-loopback IPv4 address: Chromium gathers candidates on its interfaces, not on loopback.
"""

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer, start_live_server, stop_process

pytestmark = pytest.mark.e2e

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"


def local_ipv4() -> str | None:
    """The address of the interface that routes outwards (no packet is sent), else the first of `hostname -I`."""
    for probe in ("192.0.2.1", "10.255.255.255"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                address = str(s.getsockname()[0])
            if not address.startswith("127."):
                return address
        except OSError:
            pass
    try:
        names = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except OSError:
        return None
    return next((a for a in names if "." in a and not a.startswith("127.")), None)


def free_udp_port(ip: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


def free_udp_range(ip: str, size: int = 20) -> tuple[int, int]:
    """`size` consecutive UDP ports that are free right now (for coturn's relay allocations)."""
    for _ in range(50):
        start = free_udp_port(ip)
        if start + size > 65535:
            continue
        sockets = []
        try:
            for port in range(start, start + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind((ip, port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free UDP port range")


class Coturn:
    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.secret = secrets.token_hex(16)
        self.port = free_udp_port(ip)
        low, high = free_udp_range(ip)
        self.workdir = Path(tempfile.mkdtemp(prefix="zorio-coturn-"))
        self.log_path = self.workdir / "turnserver.log"
        self.process = subprocess.Popen(
            [
                TURNSERVER, "-n", f"--listening-ip={ip}", f"--listening-port={self.port}", f"--relay-ip={ip}",
                f"--min-port={low}", f"--max-port={high}", "--use-auth-secret",
                f"--static-auth-secret={self.secret}", "--realm=zorio.test", "--no-tls", "--no-dtls", "--no-tcp",
                "--no-cli", "--log-file=stdout", "--simple-log", "--no-software-attribute", "--no-rfc5780",
                f"--userdb={self.workdir / 'turndb.sqlite'}", f"--pidfile={self.workdir / 'turnserver.pid'}",
            ],
            stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Ready once it answers a STUN Binding request on its port."""
        request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)
        deadline = time.monotonic() + 15
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"turnserver exited: {self.log()}")
                s.sendto(request, (self.ip, self.port))
                try:
                    answer, _ = s.recvfrom(2048)
                except OSError:
                    continue
                if answer[:2] == b"\x01\x01" and answer[8:20] == request[8:20]:
                    return
        self.stop()
        raise RuntimeError(f"turnserver did not answer STUN in 15 s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    if not Path(TURNSERVER).exists():
        pytest.fail("turnserver is missing: make test installs coturn (.ci/system-packages)")
    ip = local_ipv4()
    if ip is None:
        pytest.fail("no non-loopback IPv4 address for coturn to listen on")
    server = Coturn(ip)
    yield server
    server.stop()


def live_with_turn(coturn: Coturn, secret: str, stun_port: int | None = None) -> LiveServer:
    return start_live_server({
        "STUN_URLS": f"stun:{coturn.ip}:{stun_port or coturn.port}",
        "TURN_URLS": f"turn:{coturn.ip}:{coturn.port}?transport=udp",
        "TURN_SECRET": secret,
    })


def diagnose(browser: Any, server: LiveServer) -> dict[str, Any]:
    context = browser.new_context(permissions=["microphone"])
    try:
        page = context.new_page()
        page.goto(f"{server.url}/demo/")
        page.wait_for_function("window.ZorioWebphone")
        token = server.token("1001")
        return dict(page.evaluate("(t) => ZorioWebphone.diagnose({apiBase: location.origin, token: t})", token))
    finally:
        context.close()


def test_diagnose_gets_a_relay_candidate_from_real_coturn(browser: Any, coturn: Coturn) -> None:
    server = live_with_turn(coturn, coturn.secret)
    try:
        ice = server.get_json("/api/webphone/sip-config", server.token("1001"))["ice_servers"]
        result = diagnose(browser, server)
    finally:
        server.stop()
    turn = next(s for s in ice if any(u.startswith("turn:") for u in s["urls"]))
    assert turn["username"].endswith(":1001")

    assert result["config"] == {"status": "ok", "ok": True, "skipped": False, "detail": "extension 1001"}
    assert result["websocket"]["ok"], result
    # coturn allocated a relay on its relay address with our HMAC credentials
    assert result["turn"] == {"status": "ok", "ok": True, "skipped": False, "detail": f"relay candidate {coturn.ip}"}, \
        (result, coturn.log())
    # No NAT here: coturn's STUN answer is the host address itself, and Chromium drops a srflx
    # candidate equal to a host candidate; diagnose says so instead of "no srflx candidate".
    stun = result["stun"]
    assert stun["ok"] is True, result
    assert stun["detail"].startswith(
        f"stun:{coturn.ip}:{coturn.port} answered with this machine's own address (no NAT): "
        "the browser drops a srflx candidate equal to host candidate "
    ) or stun["detail"] == f"srflx candidate {coturn.ip}", result
    assert coturn.ip in stun["detail"], result
    assert result["ok"] is True and result["skipped"] == [], result


def test_diagnose_reports_turn_refusing_a_wrong_secret_and_a_dead_stun_server(browser: Any, coturn: Coturn) -> None:
    dead = free_udp_port(coturn.ip)  # nothing answers there
    server = live_with_turn(coturn, "not-" + coturn.secret, stun_port=dead)
    try:
        result = diagnose(browser, server)
    finally:
        server.stop()
    assert result["turn"]["status"] == "fail" and result["turn"]["ok"] is False, result
    # Chromium's icecandidateerror for coturn's refusal, e.g. "no relay candidate: turn:IP:PORT?transport=udp: 401 Unauthorized"
    assert result["turn"]["detail"].startswith(f"no relay candidate: turn:{coturn.ip}:{coturn.port}"), result
    assert "401" in result["turn"]["detail"], result
    # a STUN server that never answers is not mistaken for the no-NAT case
    assert result["stun"] == {"status": "fail", "ok": False, "skipped": False,
                              "detail": f"no srflx candidate from stun:{coturn.ip}:{dead} in 6000 ms"}, result
    assert result["websocket"]["ok"], result
    assert result["ok"] is False and result["noFailures"] is False
