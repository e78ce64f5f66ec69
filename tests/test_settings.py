"""Settings: the embedded defaults, the production path (PostgreSQL + Redis), the deploy check."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.core import checks

from zorio_widget.checks import check_production_settings

ROOT = Path(__file__).resolve().parent.parent
ENV_VARS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "TURN_URLS", "TURN_SECRET", "DEBUG", "ALLOWED_HOSTS",
            "DEMO_PAGES", "CHANNEL_PREFIX", "REFRESH_TOKEN_TTL_S")

DUMP_SETTINGS = """
import json
from zorio_widget import settings as s
db = s.DATABASES["default"]
layer = s.CHANNEL_LAYERS["default"]
print(json.dumps({"engine": db["ENGINE"], "name": db["NAME"], "host": db.get("HOST"), "port": db.get("PORT"),
                  "user": db.get("USER"), "layer": layer["BACKEND"], "layer_config": layer.get("CONFIG"),
                  "debug": s.DEBUG, "secret_is_default": s.SECRET_KEY == s.INSECURE_DEFAULT_SECRET_KEY,
                  "demo_pages": s.DEMO_PAGES, "cache": s.CACHES["default"],
                  "refresh_token_ttl_s": s.REFRESH_TOKEN_TTL_S}))
"""


def settings_in_subprocess(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    clean["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", DUMP_SETTINGS], env={**clean, **env}, cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_embedded_defaults_are_sqlite_and_in_memory_layer() -> None:
    s = settings_in_subprocess()
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["layer"] == "channels.layers.InMemoryChannelLayer"
    assert s["debug"] is False and s["secret_is_default"] is True
    # `make run` on a fresh clone (no .env) serves the demo pages; .env.example turns them off.
    assert s["demo_pages"] is True
    assert s["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_refresh_token_lifetime_is_a_setting_with_a_week_by_default() -> None:
    assert settings_in_subprocess()["refresh_token_ttl_s"] == 7 * 24 * 3600
    assert settings_in_subprocess(REFRESH_TOKEN_TTL_S="3600")["refresh_token_ttl_s"] == 3600
    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    refused = subprocess.run([sys.executable, "-c", DUMP_SETTINGS], cwd=ROOT, capture_output=True, text=True,
                             env={**clean, "PYTHONPATH": str(ROOT), "REFRESH_TOKEN_TTL_S": "0"}, timeout=60)
    assert refused.returncode != 0 and "REFRESH_TOKEN_TTL_S must be at least 60 seconds" in refused.stderr


def test_database_and_redis_urls_select_postgresql_and_redis_layer() -> None:
    s = settings_in_subprocess(DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
                               REDIS_URL="redis://127.0.0.1:6379/0", SECRET_KEY="x" * 50)
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["name"], s["host"], s["port"], s["user"]) == ("test", "127.0.0.1", 5432, "postgres")
    assert s["layer"] == "channels_redis.core.RedisChannelLayer"
    assert s["layer_config"]["hosts"] == [{"address": "redis://127.0.0.1:6379/0", "socket_timeout": 30.0}]
    assert s["secret_is_default"] is False
    assert s["cache"] == {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:6379/0", "KEY_PREFIX": "zorio"}


async def test_messages_go_through_the_real_redis_channel_layer(settings) -> None:
    """Always against a real Redis: the one of REDIS_URL, else the local one every machine here runs."""
    from channels.layers import get_channel_layer

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # The hosts entry as settings.py writes it for REDIS_URL.
        "CONFIG": {"hosts": [{"address": url, "socket_timeout": settings.REDIS_SOCKET_TIMEOUT_S}],
                   "prefix": f"zorio-test-{uuid.uuid4().hex[:8]}"},
    }}
    layer = get_channel_layer()
    assert type(layer).__module__ == "channels_redis.core"
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "call.ping", "n": 1})
        assert await layer.receive(channel) == {"type": "call.ping", "n": 1}
        group = f"call.{uuid.uuid4().hex}"
        await layer.group_add(group, channel)
        await layer.group_send(group, {"type": "call.ended", "reason": "hangup"})
        assert await layer.receive(channel) == {"type": "call.ended", "reason": "hangup"}
        await layer.group_discard(group, channel)
        # An idle consumer waits longer than channels_redis' 5 s blocking pop (and redis-py 8's
        # default 5 s read timeout) without the layer raising TimeoutError.
        asyncio.get_running_loop().call_later(6.5, lambda: asyncio.ensure_future(
            layer.send(channel, {"type": "call.late"})))
        assert await asyncio.wait_for(layer.receive(channel), 15) == {"type": "call.late"}
    finally:
        await layer.flush()
        await layer.close_pools()


def test_deploy_check_rejects_the_embedded_secret(settings) -> None:
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY
    ids = [m.id for m in check_production_settings(None)]
    assert "zorio_widget.E001" in ids
    # Registered as a deployment check, not run by a plain `check`.
    deploy_ids = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "zorio_widget.E001" in deploy_ids
    assert "zorio_widget.E001" not in [m.id for m in checks.run_checks()]
    settings.SECRET_KEY = "a-real-secret-" + "x" * 40
    assert "zorio_widget.E001" not in [m.id for m in check_production_settings(None)]


def test_deploy_check_turn_and_redis(settings) -> None:
    settings.SECRET_KEY = "a-real-secret-" + "x" * 40
    settings.DEMO_PAGES = False
    settings.TURN_URLS, settings.TURN_SECRET, settings.REDIS_URL = ["turn:turn.example.net"], "", ""
    assert {m.id for m in check_production_settings(None)} == {"zorio_widget.E002", "zorio_widget.W001"}
    settings.TURN_SECRET, settings.REDIS_URL = "s", "redis://127.0.0.1:6379/0"
    assert check_production_settings(None) == []
    settings.DEMO_PAGES = True
    assert [m.id for m in check_production_settings(None)] == ["zorio_widget.W002"]


def test_manage_py_check_deploy_fails_without_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "zorio_widget.E001" in result.stderr + result.stdout


def env_example() -> dict[str, str]:
    """The variables `.env.example` sets (commented-out examples left out)."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_env_example_is_a_production_start_the_deploy_check_refuses_as_is() -> None:
    """Copied to `.env` unchanged it turns the demo pages off, and its placeholder SECRET_KEY fails
    `check --deploy` like the embedded key does."""
    example = env_example()
    assert example["DEMO_PAGES"] == "false" and example["DEBUG"] == "false"
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], env={**env, **example}, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    output = result.stderr + result.stdout
    assert result.returncode != 0
    assert "zorio_widget.E001" in output and "placeholder" in output
    assert "zorio_widget.W002" not in output  # the demo pages are off


def test_deploy_check_rejects_placeholder_and_short_keys(settings) -> None:
    for weak in (env_example()["SECRET_KEY"], "CHANGE-ME-" + "x" * 40, "django-insecure-" + "x" * 40, "x" * 31):
        settings.SECRET_KEY = weak
        assert "zorio_widget.E001" in [m.id for m in check_production_settings(None)], weak
    settings.SECRET_KEY = "x" * 32
    assert "zorio_widget.E001" not in [m.id for m in check_production_settings(None)]
