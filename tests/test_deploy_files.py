"""docker-compose.yml, Dockerfile and .env.example agree with the variables settings.py reads."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_VARS = set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']",
                               (ROOT / "zorio_widget" / "settings.py").read_text()))
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:[:?\-+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def test_settings_variables_were_found() -> None:
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TURN_SECRET", "TURN_URLS", "MEDIA_PUBLIC_IP"} <= SETTINGS_VARS


def test_compose_has_the_services(compose: dict) -> None:
    assert {"web", "postgres", "redis", "coturn"} <= set(compose["services"])
    assert set(compose["volumes"]) >= {"db-data", "recordings"}


def test_web_gets_only_variables_settings_reads(compose: dict) -> None:
    passed = set(environment(compose["services"]["web"]))
    assert passed <= SETTINGS_VARS, f"web gets variables settings.py ignores: {passed - SETTINGS_VARS}"
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "TURN_URLS", "TURN_SECRET", "STUN_URLS",
            "MEDIA_PUBLIC_IP", "RECORDINGS_ROOT"} <= passed


def test_web_uses_postgres_and_redis_and_keeps_recordings(compose: dict) -> None:
    web = compose["services"]["web"]
    env = environment(web)
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://")
    assert {"postgres", "redis"} <= set(web["depends_on"])
    command = " ".join(web["command"]) if isinstance(web["command"], list) else web["command"]
    assert (command.index("check --deploy") < command.index("migrate") < command.index("collectstatic")
            < command.index("python -m zorio_widget.serve"))
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in web["volumes"]}
    assert mounts[env["RECORDINGS_ROOT"]] == "recordings"
    assert any(v.endswith(":/var/lib/postgresql/data") and v.startswith("db-data")
               for v in compose["services"]["postgres"]["volumes"])


def test_secrets_are_required_not_defaulted(compose: dict) -> None:
    env = environment(compose["services"]["web"])
    for name in ("SECRET_KEY", "TURN_SECRET"):
        assert re.fullmatch(r"\$\{" + name + r":\?[^}]+\}", env[name]), env[name]
    assert env["DEBUG"].lower() == "false"


def test_coturn_shares_webs_turn_secret(compose: dict) -> None:
    coturn = compose["services"]["coturn"]
    command = coturn["command"] if isinstance(coturn["command"], list) else coturn["command"].split()
    args = [arg.lstrip("-") for arg in command]
    assert "use-auth-secret" in args
    secret_args = [arg for arg in args if arg.startswith("static-auth-secret")]
    assert len(secret_args) == 1
    coturn_vars = INTERPOLATION.findall(secret_args[0])
    web_vars = INTERPOLATION.findall(environment(compose["services"]["web"])["TURN_SECRET"])
    assert coturn_vars == web_vars == ["TURN_SECRET"]


def test_env_example_documents_every_settings_variable() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    assert SETTINGS_VARS <= documented, f"not in .env.example: {sorted(SETTINGS_VARS - documented)}"


def test_compose_variables_are_documented(compose: dict) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(INTERPOLATION.findall(text))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used <= documented, f"compose variables not in .env.example: {sorted(used - documented)}"


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
