"""Running SIPp (``sip-tester``) as the far end: a carrier (UAS) our trunk calls, or a caller (UAC).

Each test starts SIPp with one of ``scenarios/*.xml`` on a free loopback port, lets our user agent
talk to it, and then requires SIPp's own verdict: exit status 0 means every message arrived in the
order the scenario demands, with nothing unexpected (``-nd``: no default behaviours to hide a
missing ACK or an extra retransmission). The message and error logs are kept for the failure text.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Sipp:
    """One SIPp process running one scenario for one call (``-m 1``)."""

    def __init__(self, scenario: str, workdir: Path, *, transport: str = "udp", remote: str | None = None,
                 variables: dict[str, str] | None = None, calls: int = 1, extra: tuple[str, ...] = (),
                 template: dict[str, str] | None = None) -> None:
        """:param template: ``@NAME@`` → value, written into a copy of the scenario (SIPp reads status
        codes when it loads a scenario, before any ``-key`` keyword is substituted)."""
        self.scenario = SCENARIOS / scenario
        if template:
            text = self.scenario.read_text()
            for name, value in template.items():
                text = text.replace(f"@{name}@", value)
            self.scenario = workdir / Path(scenario).name
            self.scenario.write_text(text)
        self.port = free_port()
        self.media_port = free_port()
        self.workdir = workdir
        self.messages = workdir / f"{self.scenario.stem}-messages.log"
        self.errors = workdir / f"{self.scenario.stem}-errors.log"
        self.args = [
            SIPP, "-sf", str(self.scenario), "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(self.media_port),
            "-m", str(calls), "-nostdin", "-nd", "-timeout", "40s", "-timeout_error", "-t",
            "u1" if transport == "udp" else "t1", "-trace_msg", "-message_file", str(self.messages),
            "-trace_err", "-error_file", str(self.errors), *extra,
        ]
        for name, value in (variables or {}).items():
            self.args += ["-set", name, value]
        if remote:
            self.args.append(remote)
        self.process: asyncio.subprocess.Process | None = None
        self.output = b""

    async def start(self) -> Sipp:
        if shutil.which(SIPP) is None:
            raise RuntimeError("sipp is not installed: apt-get install sip-tester (.ci/system-packages)")
        self.process = await asyncio.create_subprocess_exec(
            *self.args, cwd=self.workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL)
        for _ in range(200):  # until it has bound its port
            if port_in_use(self.port) or self.process.returncode is not None:
                break
            await asyncio.sleep(0.02)
        return self

    async def finish(self, within: float = 45.0) -> None:
        """Wait for SIPp's verdict; ``AssertionError`` with its logs unless every call succeeded."""
        assert self.process is not None
        try:
            self.output, _ = await asyncio.wait_for(self.process.communicate(), within)
        except TimeoutError:
            self.process.kill()
            self.output, _ = await self.process.communicate()
        if self.process.returncode != 0:
            raise AssertionError(f"SIPp {self.scenario.name} exited {self.process.returncode}\n{self.log()}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def log(self) -> str:
        parts = []
        for path in (self.errors, self.messages):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}")
        parts.append(f"--- output\n{self.output.decode(errors='replace')[-2000:]}")
        return "\n".join(parts)
