"""POST /api/webphone/calls/<uuid>/card: the after-call card, validated against its JSON Schema,
stored on the call record, listed by GET /api/webphone/calls and shown in the admin.

Schemas are untrusted: a `$ref` never fetches anything (a real local HTTP server counts requests),
patterns run on RE2, work is bounded, the tenant's schema wins over the client's, and bodies of any
size or depth are JSON errors. The event loop under a live server: tests/api/test_cards_live.py.
"""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from zorio_widget.api.card_schema import MAX_CARD_DEPTH, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH
from zorio_widget.api.cards import MAX_BODY_BYTES, MAX_CARD_BYTES
from zorio_widget.api.views import MAX_JSON_DEPTH
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


# -- schemas are untrusted: no fetch, no backtracking, bounded work ------------------------------------

SECRET = "zorio-secret-7f3a9c"


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 that serves a schema with SECRET in it and counts its requests."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps({"type": "string", "description": SECRET, "enum": [SECRET]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/schema+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join(5)


def remote_schemas(base: str) -> list[dict]:
    return [
        {"$ref": f"{base}/schema.json"},
        {"properties": {"outcome": {"$ref": f"{base}/outcome.json"}}},
        {"$id": f"{base}/root.json", "properties": {"outcome": {"$ref": "outcome.json"}}},
        {"$defs": {"o": {"$ref": f"{base}/o.json#/x"}}, "properties": {"outcome": {"$ref": "#/$defs/o"}}},
        {"$dynamicRef": f"{base}/dynamic.json"},
        {"$schema": f"{base}/meta.json"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"outcome": {"$ref": f"{base}/7.json"}}},
    ]


def test_a_remote_ref_is_never_fetched(client: Client, token: str, call: CallRecord,
                                        counting_server: tuple[str, list[str]]) -> None:
    base, hits = counting_server
    for schema in remote_schemas(base):
        response = post(client, token, call, {"card": {"outcome": 5}, "schema": schema})
        assert response.status_code == 400, (schema, response.content)
        assert response.json()["code"] == "bad_request"
        assert SECRET.encode() not in response.content
    assert hits == []
    refused = post(client, token, call, {"card": {"outcome": 5}, "schema": {"$ref": f"{base}/schema.json"}})
    assert "remote $ref not allowed" in refused.json()["message"]
    call.refresh_from_db()
    assert call.card is None


def test_a_file_ref_is_never_read(client: Client, token: str, call: CallRecord, tmp_path) -> None:
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({"type": "string", "description": SECRET, "enum": [SECRET]}))
    for schema in ({"$ref": secret_file.as_uri()}, {"properties": {"outcome": {"$ref": secret_file.as_uri()}}}):
        response = post(client, token, call, {"card": {"outcome": 5}, "schema": schema})
        assert response.status_code == 400 and response.json()["code"] == "bad_request"
        assert "remote $ref not allowed" in response.json()["message"]
        assert SECRET.encode() not in response.content


def test_the_call_is_checked_before_the_schema(client: Client, token: str, call: CallRecord, tenant: Tenant,
                                               other_tenant: Tenant, make_token,
                                               counting_server: tuple[str, list[str]]) -> None:
    base, hits = counting_server
    evil = {"card": {"outcome": "a" * 40 + "!"},
            "schema": {"$ref": f"{base}/schema.json", "properties": {"outcome": {"pattern": "^(a+)+$"}}}}
    started = time.monotonic()
    response = post(client, token, str(uuid.uuid4()), evil)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    theirs = Extension.objects.create(tenant=other_tenant, number="1001")
    response = post(client, make_token(theirs), call, evil)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    carol = Extension.objects.create(tenant=tenant, number="1003")
    response = post(client, make_token(carol), call, evil)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = post(client, make_token(carol), call, {"card": "not even looked at"})
    assert response.status_code == 403
    assert hits == [] and time.monotonic() - started < 2


def test_references_inside_the_schema_still_work(client: Client, token: str, call: CallRecord) -> None:
    schema = {
        "$defs": {"outcome": {"type": "string", "enum": ["Sale", "Follow-up"]},
                  "money": {"type": "number", "minimum": 0}},
        "type": "object", "required": ["outcome"],
        "properties": {"outcome": {"$ref": "#/$defs/outcome"}, "amount": {"$ref": "#/$defs/money"},
                       "items": {"type": "array", "items": {"$ref": "#/properties/amount"}}},
    }
    good = {"outcome": "Sale", "amount": 3, "items": [1, 2.5]}
    assert post(client, token, call, {"card": good, "schema": schema}).status_code == 200
    call.refresh_from_db()
    assert call.card == good
    bad = post(client, token, call, {"card": {"outcome": "Maybe"}, "schema": schema})
    assert bad.status_code == 400 and "outcome" in bad.json()["message"]
    bad = post(client, token, call, {"card": {"outcome": "Sale", "items": [1, -1]}, "schema": schema})
    assert bad.status_code == 400 and "items/1" in bad.json()["message"]
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"o": {"type": "string"}},
              "properties": {"outcome": {"$ref": "#/definitions/o"}}}
    assert post(client, token, call, {"card": {"outcome": "Sale"}, "schema": draft7}).status_code == 200
    assert post(client, token, call, {"card": {"outcome": 1}, "schema": draft7}).status_code == 400
    nowhere = post(client, token, call, {"card": good, "schema": {"$ref": "#/$defs/nope"}})
    assert nowhere.status_code == 400 and "points to nothing" in nowhere.json()["message"]


EVIL = "a" * 40 + "!"  # `^(a+)+$` backtracks 2**40 times on this with Python's `re`


@pytest.mark.parametrize("card, schema", [
    ({"outcome": EVIL}, {"properties": {"outcome": {"pattern": "^(a+)+$"}}}),
    ({EVIL: 1, "aaa": 1}, {"patternProperties": {"^(a+)+$": {"type": "string"}}}),
    ({EVIL: 1}, {"patternProperties": {"^(a+)+$": {}}, "additionalProperties": False}),
    ({EVIL: 1}, {"propertyNames": {"pattern": "^(a+)+$"}}),
    ({"x": [EVIL] * 50}, {"properties": {"x": {"items": {"pattern": "^(a|aa)+$"}}}}),
    # A `$schema` below the root, or a `$ref` back to a root naming one, would switch jsonschema
    # to its own validator class (Python's `re`): both are refused or kept on the guarded one.
    ({"outcome": EVIL}, {"properties": {"outcome": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                                     "pattern": "^(a+)+$"}}}),
    ({"x": {"y": EVIL}}, {"$schema": "https://json-schema.org/draft/2020-12/schema",
                          "properties": {"x": {"$ref": "#"}, "y": {"pattern": "^(a+)+$"}}}),
    ({"outcome": EVIL}, {"$schema": "http://json-schema.org/draft-04/schema#",
                         "properties": {"outcome": {"pattern": "^(a+)+$"}}}),
])
def test_catastrophic_patterns_answer_at_once(client: Client, token: str, call: CallRecord,
                                              card: dict, schema: dict) -> None:
    started = time.monotonic()
    response = post(client, token, call, {"card": card, "schema": schema})
    assert time.monotonic() - started < 1
    assert response.status_code == 400 and response.json()["code"] == "bad_request"


@pytest.mark.parametrize("schema, card", [
    ({"properties": {"outcome": {"pattern": "(a)\\1"}}}, {"outcome": "aa"}),            # backreference
    ({"properties": {"outcome": {"pattern": "^(?=a)a"}}}, {"outcome": "a"}),            # lookahead
    ({"properties": {"outcome": {"pattern": "(?<!a)b"}}}, {"outcome": "b"}),            # lookbehind
    ({"patternProperties": {"(x)\\1": {}}}, {"xx": 1}),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "patternProperties": {"(x)\\1": {}}}, {"xx": 1}),
    ({"properties": {"re": {"type": "string", "format": "regex"}}}, {"re": "(a)\\1"}),  # the `regex` format
])
def test_patterns_re2_cannot_run_are_refused(client: Client, token: str, call: CallRecord,
                                             schema: dict, card: dict) -> None:
    response = post(client, token, call, {"card": card, "schema": schema})
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    assert "not supported" in response.json()["message"]


def test_re2_patterns_match_as_json_schema_expects(client: Client, token: str, call: CallRecord) -> None:
    schema = {"properties": {"code": {"pattern": "^[A-Z]{2}-\\d{3}$"}, "name": {"pattern": "\\p{L}+"}},
              "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}
    assert post(client, token, call, {"card": {"code": "AB-123", "name": "Đức", "x-n": 1},
                                      "schema": schema}).status_code == 200
    for card in ({"code": "ab-123"}, {"name": "123"}, {"x-n": "1"}, {"other": 1}):
        assert post(client, token, call, {"card": card, "schema": schema}).status_code == 400, card


def _exponential_refs(levels: int) -> dict:
    defs = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}, {"$ref": f"#/$defs/d{i + 1}"}]} for i in range(levels)}
    defs[f"d{levels}"] = {"type": "object"}
    return {"$defs": defs, "properties": {"outcome": {"$ref": "#/$defs/d0"}}}


MIXED = [[i] if i % 2 else str(i) for i in range(3000)]


@pytest.mark.parametrize("card, schema, message", [
    ({"outcome": {}}, _exponential_refs(40), "too expensive"),                    # 2**40 applications
    ({"outcome": {}}, {"$ref": "#"}, "without end"),
    ({"outcome": {}}, {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
     "without end"),
    ({"a": 1}, {"unevaluatedProperties": False}, "not supported"),
    ({"a": [1]}, {"unevaluatedItems": False}, "not supported"),
    # Distinct values that do not sort together: jsonschema's own uniqueItems compares every pair.
    ({"items": MIXED}, {"properties": {"items": {"uniqueItems": True, "maxItems": 10}}}, "items"),
    ({"required": MIXED}, {"$ref": "https://json-schema.org/draft/2020-12/schema"}, "required"),
    ({"a": [{} for _ in range(5000)]},
     {"properties": {"a": {"items": {"properties": {f"p{i}": {} for i in range(1000)}}}}}, "too expensive"),
    ({"outcome": 1}, {"$schema": "http://json-schema.org/draft-03/schema#"}, "Unsupported"),
])
def test_expensive_schemas_are_bounded(client: Client, token: str, call: CallRecord,
                                       card: dict, schema: dict, message: str) -> None:
    started = time.monotonic()
    response = post(client, token, call, {"card": card, "schema": schema})
    assert time.monotonic() - started < 2.5
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    assert message in response.json()["message"]


def test_unique_items_is_linear_and_right(client: Client, token: str, call: CallRecord) -> None:
    schema = {"properties": {"a": {"uniqueItems": True}}}
    distinct = [[i] if i % 2 else str(i) for i in range(4000)] + [{"k": 1}, 1.5, True, None, 1]
    started = time.monotonic()
    assert post(client, token, call, {"card": {"a": distinct}, "schema": schema}).status_code == 200
    assert time.monotonic() - started < 1
    for duplicated in ([1, 1.0], [{"k": [1]}, {"k": [1.0]}], ["x", "x"], [None, None]):
        assert post(client, token, call, {"card": {"a": duplicated}, "schema": schema}).status_code == 400
    for distinct_pair in ([1, True], [0, False], ["1", 1], [{"k": 1}, {"k": True}]):
        assert post(client, token, call, {"card": {"a": distinct_pair}, "schema": schema}).status_code == 200


# -- the tenant's schema is authoritative -----------------------------------------------------------------

TENANT_SCHEMA = {"type": "object", "required": ["outcome"],
                 "properties": {"outcome": {"type": "string", "enum": ["Sale", "Follow-up"]}}}


def test_the_tenants_card_schema_wins_over_the_clients(client: Client, token: str, call: CallRecord,
                                                       tenant: Tenant, counting_server) -> None:
    tenant.card_schema = TENANT_SCHEMA
    tenant.save()
    base, hits = counting_server
    for client_schema in (None, {}, {"type": "object"}, {"required": []}, {"$ref": f"{base}/permissive.json"}):
        body = {"card": {"notes": "no outcome"}, **({"schema": client_schema} if client_schema is not None else {})}
        response = post(client, token, call, body)
        assert response.status_code == 400 and "outcome" in response.json()["message"], client_schema
    response = post(client, token, call, {"card": {"outcome": "Maybe"}, "schema": {"type": "object"}})
    assert response.status_code == 400
    call.refresh_from_db()
    assert call.card is None
    # The client's schema only drives rendering: even one the tenant's would refuse does not matter.
    response = post(client, token, call, {"card": {"outcome": "Sale"}, "schema": {"required": ["other"]}})
    assert response.status_code == 200
    assert hits == []
    call.refresh_from_db()
    assert call.card == {"outcome": "Sale"}


def test_an_unusable_tenant_schema_is_reported_as_such(client: Client, token: str, call: CallRecord,
                                                       tenant: Tenant) -> None:
    tenant.card_schema = {"properties": {"outcome": {"pattern": "(a)\\1"}}}
    tenant.save()
    response = post(client, token, call, {"card": {"outcome": "aa"}})
    assert response.status_code == 400 and "administrator" in response.json()["message"]
    call.refresh_from_db()
    assert call.card is None


# -- limits: size and depth of bodies, cards and schemas ------------------------------------------------

def nested(depth: int, leaf: object = 1) -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_json_body_of_any_depth_is_a_bad_request(client: Client, token: str, call: CallRecord,
                                                   api_key: str) -> None:
    deep = '{"card": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = client.post(url(call), deep, content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    deep_token = '{"extension": "1001", "x": ' + '{"a": ' * 10_000 + "1" + "}" * 10_000 + "}"
    response = client.post("/api/webphone/tokens", deep_token, content_type="application/json",
                           headers={"Authorization": f"Api-Key {api_key}"})
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    # Deeper than MAX_JSON_DEPTH but well within what the decoder parses:
    response = client.post("/api/webphone/tokens", json.dumps({"extension": "1001", "x": nested(MAX_JSON_DEPTH)}),
                           content_type="application/json", headers={"Authorization": f"Api-Key {api_key}"})
    assert response.status_code == 400 and "nests deeper" in response.json()["message"]


@pytest.mark.parametrize("raw", [
    '{"card": {"n": ' + "9" * 5000 + "}}",   # past Python's int digits limit
    '{"card": {"t": "a\\u0000b"}}',          # NUL: PostgreSQL's jsonb refuses it
    '{"card": {"t": "\\ud800"}}',            # an unpaired surrogate
    "[1]", '"text"', "", "\xff",
])
def test_other_bodies_the_server_cannot_use(client: Client, token: str, call: CallRecord, raw: str) -> None:
    response = client.post(url(call), raw.encode("latin-1") if raw == "\xff" else raw,
                           content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    if raw == "":
        assert response.status_code == 400 and "'card'" in response.json()["message"]
    else:
        assert response.status_code == 400 and response.json()["code"] == "bad_request", raw
    call.refresh_from_db()
    assert call.card is None


def test_card_and_schema_limits(client: Client, token: str, call: CallRecord) -> None:
    assert post(client, token, call, {"card": nested(MAX_CARD_DEPTH)}).status_code == 200
    response = post(client, token, call, {"card": nested(MAX_CARD_DEPTH + 1)})
    assert response.status_code == 400 and f"card nests deeper than {MAX_CARD_DEPTH}" in response.json()["message"]
    schema: dict = {"type": "object"}
    for _ in range(MAX_SCHEMA_DEPTH - 1):  # a lone `if` never fails
        schema = {"if": schema}
    assert post(client, token, call, {"card": {}, "schema": schema}).status_code == 200
    response = post(client, token, call, {"card": {}, "schema": {"if": schema}})
    assert response.status_code == 400 and "schema nests deeper" in response.json()["message"]
    big = {"properties": {f"field_{i:04}": {"type": "string"} for i in range(MAX_SCHEMA_BYTES // 20)}}
    response = post(client, token, call, {"card": {}, "schema": big})
    assert response.status_code == 400 and f"larger than {MAX_SCHEMA_BYTES}" in response.json()["message"]
    # Non-ASCII text counts in UTF-8 bytes, as sent (not as \u escapes).
    vietnamese = {"notes": "Khách hàng đồng ý mua, gọi lại thứ Hai. " * 500}
    assert len(json.dumps(vietnamese, ensure_ascii=False).encode()) < MAX_CARD_BYTES < len(json.dumps(vietnamese))
    assert post(client, token, call, {"card": vietnamese}).status_code == 200
    response = client.post(url(call), b" " * (MAX_BODY_BYTES + 1), content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "larger" in response.json()["message"]
