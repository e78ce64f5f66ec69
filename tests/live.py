"""Live Daphne servers in their own processes, for tests that need real WebSockets and UDP media.

They use the same settings and launcher as `make run` (`python -m zorio_widget.serve`): a fresh SQLite
file by default, or the PostgreSQL and Redis given in `DATABASE_URL`/`REDIS_URL` (CI runs the suite
both ways). Each server is its own phone system (a channel prefix of its own), unless it is one of
a `LiveCluster` (`start_cluster`): several servers sharing a fresh PostgreSQL database and one Redis
prefix, i.e. one cluster (README "Many processes"), whatever `DATABASE_URL`/`REDIS_URL` the suite
runs with. A server's whole output, access log included, is in `LiveServer.log()`.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from zorio_widget.calls.memory import SERVER_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
#: The machine's PostgreSQL and Redis (CI starts both; `.ci/run`), where clusters get their own
#: database and key prefix.
CLUSTER_POSTGRES = os.environ.get("CLUSTER_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
CLUSTER_REDIS = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/3")


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


def free_sip_bind() -> str:
    """A `SIP_BIND` for a live server: a loopback port free for both UDP and TCP."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return f"127.0.0.1:{port}"
    raise RuntimeError("no free SIP port")


@dataclass
class LiveServer:
    url: str
    ws_url: str
    api_key: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    _tokens: dict[str, str] = field(default_factory=dict)
    #: Its `DATABASE_URL` is a PostgreSQL database created for it alone (`start_live_server`),
    #: dropped by `stop()`.
    own_database: bool = False

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
        if self.own_database:
            _drop_database(self.env["DATABASE_URL"])
            self.own_database = False

    def kill(self) -> None:
        """kill -9: the process dies with its calls, as in a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        """SIGTERM, without waiting: the server drains (zorio_widget/cluster/drain.py)."""
        self.process.send_signal(signal.SIGTERM)

    def get(self, path: str, token: str | None = None) -> tuple[int, str]:
        """`GET path`: the status and the body, error statuses included."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def server_environment(workdir: Path, extra_env: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, **SERVER_ENVIRONMENT, "DEBUG": "false", "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}")
    if "SIP_BIND" not in (extra_env or {}):  # no SIP unless a test asks (free_sip_bind): no port clashes
        env["SIP_BIND"] = "off"
    # With Redis, servers sharing a prefix are one cluster: each test server is its own by default.
    env.setdefault("CHANNEL_PREFIX", f"zt{secrets.token_hex(4)}")
    # A stopped test server (SIGTERM) ends what a test left live within 3 s, records closed.
    env.setdefault("DRAIN_TIMEOUT_S", "3")
    env["RECORDINGS_ROOT"] = str(workdir / "recordings")
    return env


def prepare_database(env: dict[str, str], seed_extensions: int = 0) -> str:
    """Migrates and seeds the database of `env`; returns the demo tenant's new API key."""
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [python, "manage.py", "seed_demo", "--extensions", str(seed_extensions)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    return next(line.split(": ", 1)[1] for line in seeded.stdout.splitlines() if line.startswith("API key: "))


def start_live_server(extra_env: dict[str, str] | None = None, seed_extensions: int = 0) -> LiveServer:
    """A server with a database of its own: a fresh SQLite file, or, when the suite runs on
    PostgreSQL, a database created on that server for this one (the suite's own database is shared
    by every test: a live server seeding it would meet the rows earlier tests left). A database
    passed in `extra_env` is used as it is (a second process of the same system)."""
    workdir = Path(tempfile.mkdtemp(prefix="zorio-live-"))
    env = server_environment(workdir, extra_env)
    own_database = "DATABASE_URL" not in (extra_env or {}) and env["DATABASE_URL"].startswith(
        ("postgres://", "postgresql://"))
    if own_database:
        name = f"zorio_live_{secrets.token_hex(4)}"
        base = env["DATABASE_URL"].rsplit("/", 1)[0]
        _postgres("CREATE DATABASE {}", name, base)
        env["DATABASE_URL"] = f"{base}/{name}"
    try:
        server = launch_server(env, prepare_database(env, seed_extensions), workdir)
    except BaseException:
        if own_database:
            _drop_database(env["DATABASE_URL"])
        raise
    server.own_database = own_database
    return server


def launch_server(env: dict[str, str], api_key: str, workdir: Path) -> LiveServer:
    """Starts `python -m zorio_widget.serve` on a free port with a migrated, seeded database."""
    python = sys.executable
    port = free_port()
    log_path = workdir / "server.log"
    process = subprocess.Popen(
        [python, "-m", "zorio_widget.serve", "-b", "127.0.0.1", "-p", str(port)],  # as `make run`
        cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60  # generous: a loaded machine may start several at once
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
        raise RuntimeError("daphne did not start in 60 s")
    url = f"http://127.0.0.1:{port}"
    return LiveServer(url, f"ws://127.0.0.1:{port}/ws/webphone/", api_key, env, process, log_path)


@dataclass
class LiveCluster:
    """Servers sharing one fresh PostgreSQL database and one Redis prefix: one phone system."""

    servers: list[LiveServer]
    database_url: str
    redis_url: str
    prefix: str

    def __getitem__(self, index: int) -> LiveServer:
        return self.servers[index]

    def logs(self) -> str:
        return "\n".join(f"----- server {i} ({s.url}) -----\n{s.log()[-6000:]}" for i, s in enumerate(self.servers))

    def redis_keys(self) -> list[str]:
        import redis

        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            return sorted(client.scan_iter(f"{self.prefix}:*"))
        finally:
            client.close()

    def wait_for_nodes(self, count: int, timeout_s: float = 30.0) -> None:
        """Until `count` nodes have joined, and one heartbeat more, so that each has seen the others."""
        deadline = time.monotonic() + timeout_s
        while len([k for k in self.redis_keys() if ":cluster:node:" in k]) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} nodes did not join within {timeout_s:.0f} s:\n{self.logs()}")
            time.sleep(0.2)
        time.sleep(2.5)  # zorio_widget/cluster/node.py HEARTBEAT_S, and a little

    def stop(self) -> None:
        import redis

        for server in self.servers:
            server.stop()
        client = redis.Redis.from_url(self.redis_url)
        try:
            for key in client.scan_iter(f"{self.prefix}:*"):
                client.delete(key)
        finally:
            client.close()
        _drop_database(self.database_url)


def _drop_database(database_url: str) -> None:
    """Drops the database `database_url` names, connections and all."""
    server_url, name = database_url.rsplit("/", 1)
    _postgres("DROP DATABASE IF EXISTS {} WITH (FORCE)", name, server_url)


def _postgres(statement: str, database: str, server_url: str = CLUSTER_POSTGRES) -> None:
    """`statement` about `database` (CREATE/DROP DATABASE), run from the server's `postgres` database."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL(statement).format(sql.Identifier(database)))


def start_cluster(count: int, extra_env: dict[str, str] | None = None, seed_extensions: int = 0,
                  server_env: list[dict[str, str]] | None = None) -> LiveCluster:
    """`count` servers of one cluster on a database created for it (dropped by `stop()`); the
    PostgreSQL and Redis of the machine must be up (`.ci/run` starts them): no fallback."""
    name = f"zorio_cluster_{secrets.token_hex(4)}"
    _postgres("CREATE DATABASE {}", name)
    prefix = f"zc{secrets.token_hex(4)}"
    shared = {"DATABASE_URL": f"{CLUSTER_POSTGRES}/{name}", "REDIS_URL": CLUSTER_REDIS, "CHANNEL_PREFIX": prefix,
              **(extra_env or {})}
    servers: list[LiveServer] = []
    cluster = LiveCluster(servers, shared["DATABASE_URL"], CLUSTER_REDIS, prefix)
    try:
        first = Path(tempfile.mkdtemp(prefix="zorio-cluster-"))
        api_key = prepare_database(server_environment(first, shared), seed_extensions)
        for index in range(count):
            workdir = first if index == 0 else Path(tempfile.mkdtemp(prefix="zorio-cluster-"))
            own = server_env[index] if server_env and index < len(server_env) else {}
            env = server_environment(workdir, {**shared, **own})
            servers.append(launch_server(env, api_key, workdir))
        cluster.wait_for_nodes(count)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def manage(server: LiveServer, *args: str) -> str:
    """Runs a management command against the live server's database."""
    python = sys.executable
    done = subprocess.run([python, "manage.py", *args], cwd=ROOT, env=server.env, check=True,
                          capture_output=True, text=True)
    return done.stdout
