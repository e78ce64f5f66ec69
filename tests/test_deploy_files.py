"""The production stack's files: docker-compose.yml, deploy/Caddyfile, deploy/turnserver.conf, the
Dockerfile, .env.example and .env.production.example agree with each other and with settings.py.

Docker is not run here (no engine on these machines): the compose file is checked as data (PyYAML),
its variables are interpolated the way compose does, and what can run without Docker does run: the
deploy check with the production environment, coturn with its configuration, the healthcheck probe.
"""

import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_VARS = set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']",
                               (ROOT / "zorio_widget" / "settings.py").read_text()))
INTERPOLATED = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")
WEB_SERVICES = ("web1", "web2")
ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def command_of(service: dict) -> str:
    return " ".join(service["command"]) if isinstance(service["command"], list) else service["command"]


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's interpolation: `$$`, `${VAR}`, `${VAR:-default}` / `-default` (defaults may nest),
    `${VAR:?error}` / `?error` (an unset required variable raises KeyError)."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            name, op, arg = re.fullmatch(r"([A-Z][A-Z0-9_]*)(:?[-?]|)(.*)", text[i + 2:j - 1], re.DOTALL).groups()
            value = values.get(name)
            empty = value is None or (value == "" and op.startswith(":"))
            if op.endswith("-") and empty:
                value = interpolate(arg, values)
            elif op.endswith("?") and empty:
                raise KeyError(f"{name}: {arg}")
            out.append(value or "")
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def env_file(path: Path) -> dict[str, str]:
    """The uncommented KEY=value lines of an env file."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if re.match(r"[A-Z][A-Z0-9_]*=", line))


def production_values() -> dict[str, str]:
    """.env.production.example with its `change-me` placeholders replaced, as an admin would."""
    values = env_file(ROOT / ".env.production.example")
    return {k: secrets.token_urlsafe(50) if v.startswith("change-me") else v for k, v in values.items()}


def web_environment(compose: dict, name: str, values: dict[str, str]) -> dict[str, str]:
    return {key: interpolate(value, values) for key, value in environment(compose["services"][name]).items()}


# --- the compose file ----------------------------------------------------------------------------

def test_settings_variables_were_found() -> None:
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TURN_SECRET", "TURN_URLS", "MEDIA_PUBLIC_IP",
            "BEHIND_TLS_PROXY", "LOG_FORMAT", "METRICS_TOKEN"} <= SETTINGS_VARS


def test_compose_has_the_services_and_volumes(compose: dict) -> None:
    assert {"migrate", *WEB_SERVICES, "caddy", "postgres", "redis", "coturn"} <= set(compose["services"])
    assert set(compose["volumes"]) >= {"db-data", "recordings", "caddy-data", "caddy-config"}
    assert any(v.startswith("db-data:") and v.endswith(":/var/lib/postgresql/data")
               for v in compose["services"]["postgres"]["volumes"])


def test_every_long_running_service_has_a_healthcheck(compose: dict) -> None:
    for name, service in compose["services"].items():
        if name == "migrate":  # one-shot: the web processes wait for it to complete successfully
            assert service["restart"] == "no" and "healthcheck" not in service
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name
        assert check.get("interval") and check.get("timeout") and check.get("retries"), name


@pytest.mark.parametrize("name", WEB_SERVICES)
def test_each_web_process_is_its_own_node_behind_the_proxy(compose: dict, name: str) -> None:
    web = compose["services"][name]
    env = environment(web)
    passed = set(env)
    assert passed <= SETTINGS_VARS, f"{name} gets variables settings.py ignores: {passed - SETTINGS_VARS}"
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "TURN_URLS", "TURN_SECRET", "STUN_URLS",
            "MEDIA_PUBLIC_IP", "RECORDINGS_ROOT", "NODE_NAME", "BEHIND_TLS_PROXY", "METRICS_TOKEN"} <= passed
    assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
    assert env["BEHIND_TLS_PROXY"] == "true" and env["DEBUG"] == "false" and env["LOG_FORMAT"].endswith("json}")
    assert env["PUBLIC_WS_URL"].startswith("wss://") and "turns:" in env["TURN_URLS"]
    assert web["network_mode"] == "host" and web["restart"] == "unless-stopped"
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {web["depends_on"][s]["condition"] for s in ("postgres", "redis")} == {"service_healthy"}
    command = command_of(web)
    assert command.index("check --deploy") < command.index("collectstatic") < command.index("zorio_widget.serve")
    port = re.search(r"-m zorio_widget\.serve --proxy-headers -b 127\.0\.0\.1 -p (\$\{\w+:-\d+\})$", command)
    assert port, command  # loopback only: Caddy is the one client whose X-Forwarded-For is trusted
    assert web["healthcheck"]["test"] == ["CMD", "python", "-m", "zorio_widget.ops.probe", "--port", port.group(1)]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in web["volumes"]}
    assert mounts[env["RECORDINGS_ROOT"]] == "recordings"


def test_web_processes_differ_only_in_name_and_port(compose: dict) -> None:
    values = production_values()
    first, second = (web_environment(compose, name, values) for name in WEB_SERVICES)
    assert {k for k in first if first[k] != second.get(k)} == {"NODE_NAME"}
    assert first["NODE_NAME"] != second["NODE_NAME"]
    ports = [re.search(r"-p (\S+)$", interpolate(command_of(compose["services"][n]), values)).group(1)
             for n in WEB_SERVICES]
    assert len(set(ports)) == 2


def test_migrations_run_once_before_the_web_processes(compose: dict) -> None:
    migrate = compose["services"]["migrate"]
    command = command_of(migrate)
    assert command.index("check --deploy") < command.index("migrate --noinput")
    assert all("migrate --noinput" not in command_of(compose["services"][n]) for n in WEB_SERVICES)
    assert environment(migrate)["DATABASE_URL"] == environment(compose["services"]["web1"])["DATABASE_URL"]


def test_secrets_are_required_not_defaulted(compose: dict) -> None:
    env = environment(compose["services"]["web1"])
    for name in ("SECRET_KEY", "TURN_SECRET", "METRICS_TOKEN"):
        assert re.fullmatch(r"\$\{" + name + r":\?[^}]+\}", env[name]), env[name]
    values = production_values()
    for required in ("DOMAIN", "SECRET_KEY", "POSTGRES_PASSWORD", "TURN_SECRET", "METRICS_TOKEN"):
        with pytest.raises(KeyError, match=required):
            web_environment(compose, "web1", {k: v for k, v in values.items() if k != required})


def test_caddy_terminates_tls_for_the_domain_in_front_of_every_web_process(compose: dict) -> None:
    caddy = compose["services"]["caddy"]
    assert caddy["network_mode"] == "host"  # 80 and 443 on the host, the web processes on its loopback
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert any(v.startswith("caddy-data:/data") for v in caddy["volumes"])  # certificates survive restarts
    assert set(caddy["depends_on"]) == set(WEB_SERVICES)
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(r"^\{\$DOMAIN\} \{$", caddyfile, re.MULTILINE)
    proxy = re.search(r"^\s*reverse_proxy (.+) \{$", caddyfile, re.MULTILINE).group(1).split()
    env = environment(caddy)
    assert proxy == [f"127.0.0.1:{{$WEB{n}_PORT:800{n}}}" for n in (1, 2)]
    assert {env["WEB1_PORT"], env["WEB2_PORT"]} == {"${WEB1_PORT:-8001}", "${WEB2_PORT:-8002}"}
    assert "health_uri /readyz" in caddyfile  # a draining or broken process gets no new requests
    assert re.search(r"\(tls-internal\) \{\s*tls internal\s*\}", caddyfile)
    assert "import tls-{$CADDY_TLS:acme}" in caddyfile and env["CADDY_TLS"] == "${CADDY_TLS:-acme}"
    assert re.search(r"^\s*lb_policy least_conn$", caddyfile, re.MULTILINE)  # no sticky (cookie, ip_hash) routing


def test_coturn_shares_webs_turn_secret_and_serves_tls(compose: dict) -> None:
    coturn = compose["services"]["coturn"]
    script = " ".join(coturn["entrypoint"])
    assert "turnserver -c /etc/coturn/turnserver.conf" in script
    secret_args = re.findall(r"--static-auth-secret=(\S+)", script)
    assert len(secret_args) == 1
    assert INTERPOLATED.findall(secret_args[0]) == INTERPOLATED.findall(
        environment(compose["services"]["web1"])["TURN_SECRET"]) == ["TURN_SECRET"]
    assert "--tls-listening-port=${TURNS_PORT:-5349}" in script
    assert '--cert="$$TURN_TLS_CERT" --pkey="$$TURN_TLS_KEY"' in script
    assert "caddy-data:/caddy-data:ro" in coturn["volumes"]
    values = production_values()
    cert = interpolate(environment(coturn)["TURN_TLS_CERT"], values)
    assert cert == f"/caddy-data/caddy/certificates/acme-v02.api.letsencrypt.org-directory/{values['DOMAIN']}/{values['DOMAIN']}.crt"
    conf = (ROOT / "deploy" / "turnserver.conf").read_text()
    assert re.search(r"^use-auth-secret$", conf, re.MULTILINE) and "denied-peer-ip=169.254.0.0" in conf


# --- the env files -------------------------------------------------------------------------------

def test_env_example_documents_every_settings_variable() -> None:
    documented = set(ASSIGNMENT.findall((ROOT / ".env.example").read_text()))
    assert SETTINGS_VARS <= documented, f"not in .env.example: {sorted(SETTINGS_VARS - documented)}"


def test_production_env_documents_every_compose_variable() -> None:
    used = set(INTERPOLATED.findall((ROOT / "docker-compose.yml").read_text()))
    documented = set(ASSIGNMENT.findall((ROOT / ".env.production.example").read_text()))
    assert used <= documented, f"compose variables not in .env.production.example: {sorted(used - documented)}"


def test_the_deploy_check_is_clean_with_the_production_env(compose: dict) -> None:
    """`manage.py check --deploy` with exactly what compose gives web1 from .env.production.example."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": "/tmp",
           **web_environment(compose, "web1", production_values())}
    env["STATIC_ROOT"] = env["RECORDINGS_ROOT"] = "/tmp"  # the container's paths do not exist here
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_the_deploy_check_refuses_the_placeholders(compose: dict) -> None:
    values = env_file(ROOT / ".env.production.example")  # change-me values left as they are
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": "/tmp", **web_environment(compose, "web1", values)}
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "zorio_widget.E001" in done.stderr


# --- what runs without Docker --------------------------------------------------------------------

def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "turn.crt", tmp_path / "turn.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(60)
def test_coturn_runs_with_the_config_answering_stun_and_tls(tmp_path: Path) -> None:
    """deploy/turnserver.conf with the options compose adds: a STUN answer on the TURN port (the
    healthcheck's own command) and a TLS handshake on the turns: port with the given certificate."""
    assert shutil.which("turnserver") and shutil.which("turnutils_stunclient"), "coturn: .ci/system-packages"
    cert, key = _self_signed(tmp_path)
    port, tls_port = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    server = subprocess.Popen(
        ["turnserver", "-c", str(ROOT / "deploy" / "turnserver.conf"), "--static-auth-secret=s3cret",
         "--realm=zorio", f"--listening-port={port}", f"--tls-listening-port={tls_port}", f"--cert={cert}",
         f"--pkey={key}", "--min-port=49160", "--max-port=49200", "--listening-ip=127.0.0.1",
         "--relay-ip=127.0.0.1", "--log-file=stdout"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                context = ssl.create_default_context(cafile=str(cert))
                with socket.create_connection(("127.0.0.1", tls_port), timeout=2) as raw, \
                        context.wrap_socket(raw, server_hostname="localhost") as tls:
                    assert tls.version() in ("TLSv1.2", "TLSv1.3")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "coturn did not serve TLS"
                time.sleep(0.2)
        stun = subprocess.run(["turnutils_stunclient", "-p", str(port), "127.0.0.1"], capture_output=True,
                              text=True, timeout=10)
        assert stun.returncode == 0 and "reflexive addr" in stun.stdout
    finally:
        server.terminate()
        server.wait(10)


def test_dockerfile_runs_daphne_with_the_runtime_requirements() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    assert re.search(r'^CMD \["python", "-m", "zorio_widget.serve"', dockerfile, re.MULTILINE)
    for path in ("zorio_widget", "templates", "static", "manage.py"):
        assert re.search(rf"^COPY {path}\b", dockerfile, re.MULTILINE), path


def test_servers_start_with_the_server_environment() -> None:
    """`make run` and the image run the server (zorio_widget.serve: Daphne, its access log through
    logging) with SERVER_ENVIRONMENT (it cannot be set from settings)."""
    from zorio_widget.calls.memory import SERVER_ENVIRONMENT

    dockerfile = (ROOT / "Dockerfile").read_text()
    run_recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    for name, value in SERVER_ENVIRONMENT.items():
        assert re.search(rf"^\s*(ENV )?{name}={value}\b", dockerfile, re.MULTILINE), name
        assert re.search(rf"{name}={value} \S+ -m zorio_widget\.serve ", run_recipe), name


def test_the_image_has_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r'^HEALTHCHECK .*CMD \["python", "-m", "zorio_widget.ops.probe", "--port", "8000"\]$',
                     dockerfile, re.MULTILINE)
    assert re.search(r'^CMD \["python", "-m", "zorio_widget.serve", "-b", "0.0.0.0", "-p", "8000"\]', dockerfile, re.MULTILINE)


def test_image_carries_the_native_relay() -> None:
    """The image compiles _fastrelay.c in a build stage and copies the module next to the code
    it accelerates (without it every packet takes the Python path: 2-3x the CPU per call)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY zorio_widget/media/native/_fastrelay.c" in dockerfile
    assert "setup.py --quiet build_ext --inplace" in dockerfile
    assert "COPY --from=native /build/zorio_widget/media/native/_fastrelay.*.so ./zorio_widget/media/native/" in dockerfile
    assert dockerfile.index("COPY zorio_widget ./zorio_widget") < dockerfile.index("COPY --from=native")
    setup = (ROOT / "setup.py").read_text()
    assert '"zorio_widget.media.native._fastrelay"' in setup and '"zorio_widget/media/native/_fastrelay.c"' in setup
    native = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "zorio_widget/media/native").glob("*.[ch]"))
    copied = dockerfile[dockerfile.index("COPY zorio_widget/media/native/"):dockerfile.index("RUN python setup.py")]
    for source in native:  # every C source and header is built by setup.py and copied into the build stage
        assert f'"{source}"' in setup and source in copied, source



def test_every_server_start_goes_through_the_launcher() -> None:
    """Daphne's CLI prints its access log (with `?token=`) straight to stdout; zorio_widget.serve
    sends it through the redacting logging filter. No recipe, image or test server may bypass it."""
    bare_daphne = re.compile(r"-m daphne\b|bin/daphne\b|\bexec daphne\b|\[\"daphne\"|^\s*daphne\s", re.MULTILINE)
    places = [ROOT / "Makefile", ROOT / "Dockerfile", ROOT / "docker-compose.yml", ROOT / ".ci" / "run",
              *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    offenders = [str(path.relative_to(ROOT)) for path in places
                 if path.exists() and path.name != "test_deploy_files.py" and bare_daphne.search(path.read_text())]
    assert offenders == []
    assert '"-m", "zorio_widget.serve"' in (ROOT / "tests" / "live.py").read_text()
