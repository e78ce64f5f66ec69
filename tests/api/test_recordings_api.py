"""`GET /api/webphone/calls/<uuid>/recording` (parties by Bearer, the tenant's Api-Key, ranges) and
`GET /api/webphone/calls` with the tenant's Api-Key (voicemails included, `?kind=`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from zorio_widget.calls.models import CallRecord
from zorio_widget.tenants.models import ApiKey, Extension, Tenant

BODY = bytes(range(256)) * 4


@pytest.fixture
def bob(tenant: Tenant) -> Extension:
    return Extension.objects.create(tenant=tenant, number="1002", display_name="Bob")


@pytest.fixture
def carol(tenant: Tenant) -> Extension:
    return Extension.objects.create(tenant=tenant, number="1003", display_name="Carol")


@pytest.fixture
def recorded(tenant: Tenant, extension: Extension, bob: Extension, settings, tmp_path: Path) -> CallRecord:
    settings.MEDIA_ROOT = tmp_path
    now = timezone.now()
    relative = f"{tenant.slug}/{now:%Y/%m/%d}/call.ogg"
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_bytes(BODY)
    return CallRecord.objects.create(tenant=tenant, direction="internal", from_extension=extension, to_extension=bob,
                                     from_number="1001", to_number="1002", started_at=now, recording=True,
                                     recording_file=relative)


def url(record: CallRecord) -> str:
    return f"/api/webphone/calls/{record.uuid}/recording"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def content(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def test_parties_and_the_api_key_get_it_others_do_not(client: Client, recorded: CallRecord, extension: Extension,
                                                      bob: Extension, carol: Extension, api_key: str,
                                                      other_tenant: Tenant, make_token: Callable[..., str]) -> None:
    for who in (extension, bob):
        response = client.get(url(recorded), **bearer(make_token(who)))
        assert response.status_code == 200 and response["Content-Type"] == "audio/ogg"
        assert response["Accept-Ranges"] == "bytes" and content(response) == BODY
    assert content(client.get(url(recorded), HTTP_AUTHORIZATION=f"Api-Key {api_key}")) == BODY
    other_key = ApiKey.objects.create_key(other_tenant, name="x")[1]
    for headers in (bearer(make_token(carol)), {"HTTP_AUTHORIZATION": f"Api-Key {other_key}"}):
        refused = client.get(url(recorded), **headers)
        assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert client.get(url(recorded)).status_code == 401
    listed = client.get("/api/webphone/calls", **bearer(make_token(extension))).json()["results"][0]
    assert listed["recording_url"] == url(recorded) and listed["kind"] == "call"


@pytest.mark.parametrize(("header", "status", "part", "content_range"), [
    ("bytes=0-99", 206, BODY[:100], "bytes 0-99/1024"),
    ("bytes=1000-", 206, BODY[1000:], "bytes 1000-1023/1024"),
    ("bytes=-24", 206, BODY[-24:], "bytes 1000-1023/1024"),
    ("bytes=1000-5000", 206, BODY[1000:], "bytes 1000-1023/1024"),
])
def test_byte_ranges(client: Client, recorded: CallRecord, api_key: str, header: str, status: int, part: bytes,
                     content_range: str) -> None:
    response = client.get(url(recorded), HTTP_AUTHORIZATION=f"Api-Key {api_key}", HTTP_RANGE=header)
    assert response.status_code == status and response["Content-Range"] == content_range
    assert response["Content-Length"] == str(len(part)) and content(response) == part


@pytest.mark.parametrize("header", ["bytes=2000-", "bytes=50-10", "bytes=0-1,5-9", "lines=1-2", "bytes=-"])
def test_unsatisfiable_ranges(client: Client, recorded: CallRecord, api_key: str, header: str) -> None:
    response = client.get(url(recorded), HTTP_AUTHORIZATION=f"Api-Key {api_key}", HTTP_RANGE=header)
    assert response.status_code == 416 and response.json()["code"] == "range_not_satisfiable"
    assert response["Content-Range"] == "bytes */1024"


def test_a_call_without_recording_or_file(client: Client, recorded: CallRecord, api_key: str, tmp_path: Path) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {api_key}"}
    (tmp_path / recorded.recording_file.name).unlink()
    assert client.get(url(recorded), **auth).json()["code"] == "not_found"
    recorded.recording_file = ""
    recorded.save()
    assert client.get(url(recorded), **auth).status_code == 404
    recorded.recording_file = "../../etc/passwd"
    recorded.save()
    assert client.get(url(recorded), **auth).status_code == 404  # never outside RECORDINGS_ROOT


def test_the_tenants_calls_with_its_api_key(client: Client, recorded: CallRecord, tenant: Tenant, api_key: str,
                                           other_tenant: Tenant) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {api_key}"}
    voicemail = CallRecord.objects.create(tenant=tenant, direction="outgoing", from_number="1001", to_number="7500",
                                          started_at=timezone.now(), kind="voicemail")
    CallRecord.objects.create(tenant=other_tenant, direction="internal", from_number="1", to_number="2",
                              started_at=timezone.now())
    listed = client.get("/api/webphone/calls", **auth).json()
    assert listed["count"] == 2 and {r["uuid"] for r in listed["results"]} == {str(recorded.uuid), str(voicemail.uuid)}
    only = client.get("/api/webphone/calls?kind=voicemail", **auth).json()
    assert [r["uuid"] for r in only["results"]] == [str(voicemail.uuid)] and only["results"][0]["kind"] == "voicemail"
    assert client.get("/api/webphone/calls?kind=fax", **auth).json()["code"] == "bad_request"
    assert client.put("/api/webphone/calls", **auth).status_code == 405
