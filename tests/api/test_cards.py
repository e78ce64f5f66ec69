"""POST /api/webphone/calls/<uuid>/card: the after-call card, validated against its JSON Schema,
stored on the call record, listed by GET /api/webphone/calls and shown in the admin."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from zorio_widget.api.cards import MAX_CARD_BYTES
from zorio_widget.calls.models import CallRecord
from zorio_widget.tenants.models import Extension, Tenant

SCHEMA = {
    "type": "object",
    "required": ["outcome"],
    "properties": {
        "outcome": {"type": "string", "enum": ["Sale", "Follow-up"]},
        "amount": {"type": "number", "minimum": 0},
        "visits": {"type": "integer"},
        "callback": {"type": "boolean"},
        "notes": {"type": "string", "maxLength": 20},
        "customer": {"type": "string", "format": "autocomplete"},
    },
}
CARD = {"outcome": "Sale", "amount": 12.5, "visits": 2, "callback": True, "notes": "ok", "customer": "cust-1"}


def url(record: CallRecord | str) -> str:
    return f"/api/webphone/calls/{getattr(record, 'uuid', record)}/card"


def post(client: Client, token: str, record: CallRecord | str, body: object, **headers: str):
    return client.post(url(record), json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Bearer {token}", **headers})


@pytest.fixture
def bob(tenant: Tenant) -> Extension:
    return Extension.objects.create(tenant=tenant, number="1002", display_name="Bob")


@pytest.fixture
def call(extension: Extension, bob: Extension) -> CallRecord:
    return CallRecord.objects.create(tenant=extension.tenant, direction="internal", from_extension=bob,
                                     to_extension=extension, from_number="1002", to_number="1001",
                                     started_at=timezone.now(), end_reason="hangup")


def test_saves_a_valid_card_and_lists_it(client: Client, token: str, call: CallRecord) -> None:
    response = post(client, token, call, {"card": CARD, "schema": SCHEMA})
    assert response.status_code == 200, response.content
    assert response.json()["uuid"] == str(call.uuid) and response.json()["card"] == CARD
    call.refresh_from_db()
    assert call.card == CARD
    listed = client.get("/api/webphone/calls", headers={"Authorization": f"Bearer {token}"}).json()
    assert listed["results"][0]["card"] == CARD


def test_without_a_schema_any_object_is_stored(client: Client, token: str, call: CallRecord) -> None:
    assert post(client, token, call, {"card": {"free": ["form", 1]}}).status_code == 200
    call.refresh_from_db()
    assert call.card == {"free": ["form", 1]}


def test_saving_again_replaces_the_card(client: Client, token: str, call: CallRecord) -> None:
    post(client, token, call, {"card": CARD, "schema": SCHEMA})
    post(client, token, call, {"card": {"outcome": "Follow-up"}, "schema": SCHEMA})
    call.refresh_from_db()
    assert call.card == {"outcome": "Follow-up"}


@pytest.mark.parametrize("card, where", [
    ({}, "outcome"),                                   # required
    ({"outcome": "Maybe"}, "outcome"),                 # enum
    ({"outcome": "Sale", "amount": "12"}, "amount"),   # number
    ({"outcome": "Sale", "amount": -1}, "amount"),     # minimum
    ({"outcome": "Sale", "visits": 1.5}, "visits"),    # integer
    ({"outcome": "Sale", "callback": "yes"}, "callback"),
    ({"outcome": "Sale", "notes": "x" * 21}, "notes"),
])
def test_an_invalid_card_is_refused_and_nothing_changes(client: Client, token: str, call: CallRecord,
                                                         card: dict, where: str) -> None:
    call.card = {"before": True}
    call.save()
    response = post(client, token, call, {"card": card, "schema": SCHEMA})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_request" and where in body["message"]
    call.refresh_from_db()
    assert call.card == {"before": True}


@pytest.mark.parametrize("body", [
    {"card": "text"}, {"card": [1]}, {}, {"card": {}, "schema": "x"}, {"card": {}, "schema": {"type": "nope"}},
])
def test_bad_bodies(client: Client, token: str, call: CallRecord, body: dict) -> None:
    response = post(client, token, call, body)
    assert response.status_code == 400 and response.json()["code"] == "bad_request"


def test_not_json_and_oversize(client: Client, token: str, call: CallRecord) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(url(call), "{nope", content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    big = post(client, token, call, {"card": {"notes": "x" * MAX_CARD_BYTES}})
    assert big.status_code == 400 and "larger" in big.json()["message"]


def test_another_extensions_call_is_forbidden(client: Client, call: CallRecord, tenant: Tenant, make_token) -> None:
    carol = Extension.objects.create(tenant=tenant, number="1003")
    response = post(client, make_token(carol), call, {"card": CARD})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    call.refresh_from_db()
    assert call.card is None


def test_another_tenants_call_and_unknown_calls_are_not_found(client: Client, call: CallRecord,
                                                              other_tenant: Tenant, make_token, token: str) -> None:
    theirs = Extension.objects.create(tenant=other_tenant, number="1001")
    response = post(client, make_token(theirs), call, {"card": CARD})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = post(client, token, str(uuid.uuid4()), {"card": CARD})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = post(client, token, "not-a-uuid", {"card": CARD})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_auth_and_method(client: Client, call: CallRecord, token: str) -> None:
    response = client.post(url(call), json.dumps({"card": CARD}), content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    assert post(client, "garbage", call, {"card": CARD}).json()["code"] == "unauthorized"
    response = client.get(url(call), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    response = post(client, token, call, {"card": CARD}, Origin="https://evil.example")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_the_card_shows_in_the_admin(client: Client, token: str, call: CallRecord) -> None:
    post(client, token, call, {"card": CARD, "schema": SCHEMA})
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    page = client.get(f"/admin/calls/callrecord/{call.pk}/change/")
    assert page.status_code == 200
    assert b"cust-1" in page.content and b"Follow-up" not in page.content
