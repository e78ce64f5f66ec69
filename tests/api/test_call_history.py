"""GET /api/webphone/calls: this extension's records, newest first, paginated."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from zorio_widget.api.views import MAX_PAGE_SIZE
from zorio_widget.calls.models import CallRecord
from zorio_widget.tenants.models import Extension, Tenant

URL = "/api/webphone/calls"


def record(tenant: Tenant, minutes_ago: int, **fields) -> CallRecord:
    return CallRecord.objects.create(tenant=tenant, started_at=timezone.now() - timedelta(minutes=minutes_ago),
                                     **fields)


def get(client: Client, token: str, **params):
    return client.get(URL, params, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def bob(tenant: Tenant) -> Extension:
    return Extension.objects.create(tenant=tenant, number="1002", display_name="Bob")


def test_lists_only_this_extensions_calls_with_its_direction(client: Client, extension: Extension, bob: Extension,
                                                            token: str, other_tenant: Tenant) -> None:
    tenant = extension.tenant
    out = record(tenant, 3, direction="internal", from_extension=extension, to_extension=bob,
                 from_number="1001", to_number="1002", end_reason="hangup", campaign_id="c1")
    incoming = record(tenant, 2, direction="internal", from_extension=bob, to_extension=extension,
                      from_number="1002", to_number="1001", end_reason="no-answer")
    echo = record(tenant, 1, direction="outgoing", from_extension=extension, from_number="1001", to_number="*43")
    record(tenant, 0, direction="internal", from_extension=bob, from_number="1002", to_number="1003")  # not ours
    their_ext = Extension.objects.create(tenant=other_tenant, number="1001")
    record(other_tenant, 0, direction="outgoing", from_extension=their_ext, from_number="1001", to_number="*43")
    body = get(client, token).json()
    assert body["count"] == 3 and body["page"] == 1 and body["page_size"] == 20
    assert [r["uuid"] for r in body["results"]] == [str(echo.uuid), str(incoming.uuid), str(out.uuid)]
    assert [r["direction"] for r in body["results"]] == ["outgoing", "incoming", "outgoing"]
    first = body["results"][2]
    assert first["from"] == "1001" and first["to"] == "1002" and first["end_reason"] == "hangup"
    assert first["options"]["campaign_id"] == "c1"
    assert body["results"][0]["end_reason"] is None


def test_the_other_party_sees_the_opposite_direction(client: Client, extension: Extension, bob: Extension,
                                                     make_token) -> None:
    record(extension.tenant, 1, direction="internal", from_extension=extension, to_extension=bob,
           from_number="1001", to_number="1002")
    assert get(client, make_token(bob)).json()["results"][0]["direction"] == "incoming"


def test_pagination(client: Client, extension: Extension, token: str) -> None:
    records = [record(extension.tenant, i, direction="outgoing", from_extension=extension, from_number="1001",
                      to_number="*43") for i in range(5)]
    page1 = get(client, token, page_size=2).json()
    page3 = get(client, token, page=3, page_size=2).json()
    assert page1["count"] == 5 and page1["page_size"] == 2
    assert [r["uuid"] for r in page1["results"]] == [str(records[0].uuid), str(records[1].uuid)]
    assert [r["uuid"] for r in page3["results"]] == [str(records[4].uuid)]
    past_the_end = get(client, token, page=4, page_size=2)
    assert past_the_end.status_code == 200 and past_the_end.json()["results"] == []


def test_page_size_is_capped(client: Client, extension: Extension, token: str) -> None:
    CallRecord.objects.bulk_create(
        CallRecord(tenant=extension.tenant, direction="outgoing", from_extension=extension, from_number="1001",
                   to_number="*43", started_at=timezone.now()) for _ in range(MAX_PAGE_SIZE + 5)
    )
    body = get(client, token, page_size=1000).json()
    assert body["page_size"] == MAX_PAGE_SIZE
    assert len(body["results"]) == MAX_PAGE_SIZE
    assert body["count"] == MAX_PAGE_SIZE + 5


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "-1"}, {"page": "x"}, {"page": ""}, {"page": "1.5"},
                                    {"page": "²"}, {"page": "٣"}, {"page_size": "0"}, {"page_size": "abc"}])
def test_bad_page_is_bad_request(client: Client, token: str, params: dict) -> None:
    response = get(client, token, **params)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_needs_a_valid_token(client: Client, extension: Extension) -> None:
    response = client.get(URL)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    response = client.get(URL, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
