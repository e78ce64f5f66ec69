"""Routes provisioned by `add_route` and the admin (checked by their scenario before a save),
`prune_recordings`, and the admin's recording player."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from zorio_widget.calls.models import CallRecord
from zorio_widget.routes.models import Route
from zorio_widget.tenants.models import Extension, Tenant


def add_route(*args: str) -> str:
    out = io.StringIO()
    call_command("add_route", *args, stdout=out)
    return out.getvalue()


def test_add_route_creates_then_updates_and_refuses_bad_input(extension: Extension) -> None:
    tenant = extension.tenant
    ivr = json.dumps({"prompt": {"say": "Press 1"}, "options": {"1": {"extension": extension.number}}})
    assert "Created route 7000 -> ivr" in add_route(tenant.slug, "7000", "ivr", "--params", ivr, "--name", "Menu")
    assert "Updated route 7000 -> ivr" in add_route(tenant.slug, "7000", "ivr", "--params", ivr)
    route = Route.objects.get(tenant=tenant, number="7000")
    assert route.name == "Menu" and route.params["options"]["1"] == {"extension": extension.number}
    assert "Updated" in add_route(tenant.slug, "7000", "voicemail")  # params default to {} for a new scenario
    assert Route.objects.get(pk=route.pk).params == {}
    add_route(tenant.slug, "7001", "tests.scenarios.scripts:reject_with", "--params", '{"code": 486}')
    assert Route.objects.filter(tenant=tenant).count() == 2
    for args, message in [
        (("nope", "7002", "ivr"), "no tenant"),
        ((tenant.slug, "70x2", "ivr"), "not a dialable number"),
        ((tenant.slug, "7002", "no such thing"), "neither a built-in"),
        ((tenant.slug, "7002", "tests.scenarios.scripts:missing"), "not an async function"),
        ((tenant.slug, "7002", "nowhere.at_all:run"), "cannot import"),
        ((tenant.slug, "7002", "ivr", "--params", "{"), "not JSON"),
        ((tenant.slug, "7002", "ivr", "--params", '{"prompt": "Hi"}'), "options"),
        ((tenant.slug, "7002", "queue", "--params", '{"ring_timeout_s": 1}'), "ring_timeout_s"),
        ((tenant.slug, extension.number, "ivr"), "is an extension"),
    ]:
        with pytest.raises(CommandError, match=message):
            add_route(*args)
    assert Route.objects.filter(tenant=tenant).count() == 2  # nothing else changed


def test_the_admin_checks_params_with_the_scenario(admin_client: Client, tenant: Tenant) -> None:
    url = reverse("admin:routes_route_add")
    form = {"tenant": tenant.pk, "number": "7100", "name": "", "scenario": "voicemail", "enabled": "on"}
    bad = admin_client.post(url, {**form, "params": json.dumps({"max_length_s": 9999})})
    assert bad.status_code == 200 and "max_length_s" in bad.content.decode()
    assert not Route.objects.filter(number="7100").exists()
    good = admin_client.post(url, {**form, "params": json.dumps({"max_length_s": 60})})
    assert good.status_code == 302 and Route.objects.get(number="7100").params == {"max_length_s": 60}
    assert Route in admin.site._registry


def _recorded(tenant: Tenant, root: Path, days_ago: int, content: bytes = b"OggS data") -> CallRecord:
    started = timezone.now() - dt.timedelta(days=days_ago)
    relative = f"{tenant.slug}/{started:%Y/%m/%d}/{days_ago:08d}-0000-0000-0000-000000000000.ogg"
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).write_bytes(content)
    return CallRecord.objects.create(tenant=tenant, direction="internal", from_number="1001", to_number="1002",
                                     started_at=started, recording=True, recording_file=relative)


def test_prune_recordings_keeps_the_retention(tenant: Tenant, settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    old, recent = _recorded(tenant, tmp_path, 40), _recorded(tenant, tmp_path, 2)
    out = io.StringIO()
    settings.RECORDINGS_RETENTION_DAYS = 0
    call_command("prune_recordings", stdout=out)
    assert "every recording is kept" in out.getvalue()
    call_command("prune_recordings", "--days", "30", "--dry-run", stdout=out)
    assert "Would remove 1 recording" in out.getvalue() and (tmp_path / old.recording_file.name).exists()
    settings.RECORDINGS_RETENTION_DAYS = 30
    call_command("prune_recordings", stdout=out)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.recording_file and old.as_api()["recording_url"] is None
    assert recent.recording_file and (tmp_path / recent.recording_file.name).exists()
    assert not list((tmp_path / tenant.slug).glob(f"{(timezone.now() - dt.timedelta(days=40)):%Y/%m/%d}"))
    with pytest.raises(CommandError):
        call_command("prune_recordings", "--days", "-1")


def test_the_admin_plays_a_recording_with_ranges(admin_client: Client, tenant: Tenant, settings,
                                                 tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    record = _recorded(tenant, tmp_path, 0, bytes(range(200)))
    page = admin_client.get(reverse("admin:calls_callrecord_change", args=[record.pk]))
    url = reverse("admin:calls_callrecord_recording", args=[record.pk])
    assert f'<audio controls preload="none" src="{url}">' in page.content.decode()
    part = admin_client.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part["Content-Range"] == "bytes 10-19/200"
    assert b"".join(part.streaming_content) == bytes(range(10, 20))
    assert admin_client.get(url, HTTP_RANGE="bytes=500-").status_code == 416
    assert Client().get(url).status_code == 302  # not staff: the login page
