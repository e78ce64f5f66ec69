"""A live Daphne server in its own process, for tests that need real WebSockets and UDP media.

It uses the same settings and launcher as `make run` (`python -m zorio_widget.serve`): a fresh SQLite
file by default, or the PostgreSQL and Redis given in `DATABASE_URL`/`REDIS_URL` (CI runs the suite
both ways). Its whole output, access log included, is in `LiveServer.log()`.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from zorio_widget.calls.memory import SERVER_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent


def stop_process(process: "subprocess.Popen[bytes]") -> None:
    """Terminates a test server process, killing it if it does not exit within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    ws_url: str
    api_key: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, extension: str, ttl: int = 3600) -> str:
        """A fresh token minted through the public API (`POST /api/webphone/tokens`)."""
        request = urllib.request.Request(
            f"{self.url}/api/webphone/tokens",
            data=json.dumps({"extension": extension, "ttl": ttl}).encode(),
            headers={"Authorization": f"Api-Key {self.api_key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["token"])

    def get_json(self, path: str, token: str) -> dict:
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read()))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start_live_server(extra_env: dict[str, str] | None = None, seed_extensions: int = 0) -> LiveServer:
    workdir = Path(tempfile.mkdtemp(prefix="zorio-live-"))
    env = {**os.environ, **SERVER_ENVIRONMENT, "DEBUG": "false", "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}")
    env["RECORDINGS_ROOT"] = str(workdir / "recordings")
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [python, "manage.py", "seed_demo", "--extensions", str(seed_extensions)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    api_key = next(line.split(": ", 1)[1] for line in seeded.stdout.splitlines() if line.startswith("API key: "))
    port = free_port()
    log_path = workdir / "server.log"
    process = subprocess.Popen(
        [python, "-m", "zorio_widget.serve", "-b", "127.0.0.1", "-p", str(port)],  # as `make run`
        cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited: {log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("daphne did not start in 30 s")
    url = f"http://127.0.0.1:{port}"
    return LiveServer(url, f"ws://127.0.0.1:{port}/ws/webphone/", api_key, env, process, log_path)


def manage(server: LiveServer, *args: str) -> str:
    """Runs a management command against the live server's database."""
    python = sys.executable
    done = subprocess.run([python, "manage.py", *args], cwd=ROOT, env=server.env, check=True,
                          capture_output=True, text=True)
    return done.stdout
