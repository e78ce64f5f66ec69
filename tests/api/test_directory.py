"""GET /api/webphone/directory: the tenant's extensions matching q, with presence from the call layer."""

import asyncio
import json
import urllib.request
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.live import LiveServer
from zorio_widget.client.phone import PhoneClient
from zorio_widget.tenants.models import Extension, Tenant

URL = "/api/webphone/directory"


@pytest.fixture
def colleagues(tenant: Tenant, other_tenant: Tenant) -> None:
    user = get_user_model().objects.create_user("nguyen", first_name="Nguyễn Thị", last_name="Minh Khai")
    Extension.objects.create(tenant=tenant, number="1002", display_name="Bob Builder")
    Extension.objects.create(tenant=tenant, number="1003", user=user)
    Extension.objects.create(tenant=tenant, number="1004", display_name="Dave (disabled)", enabled=False)
    Extension.objects.create(tenant=tenant, number="", display_name="Not provisioned")
    Extension.objects.create(tenant=other_tenant, number="1005", display_name="Globex Bob")


def get(client: Client, token: str | None, **params: str):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(URL, params, headers=headers)


def test_lists_the_tenants_extensions_with_names_and_presence(client: Client, token: str, colleagues: None) -> None:
    body = get(client, token).json()
    assert body == {"results": [
        {"number": "1001", "name": "Alice Agent", "self": True, "presence": "offline"},
        {"number": "1002", "name": "Bob Builder", "self": False, "presence": "offline"},
        {"number": "1003", "name": "Nguyễn Thị Minh Khai", "self": False, "presence": "offline"},
    ]}


def test_q_matches_numbers_and_names_case_insensitively(client: Client, token: str, colleagues: None) -> None:
    numbers = lambda **p: [r["number"] for r in get(client, token, **p).json()["results"]]  # noqa: E731
    assert numbers(q="100") == ["1001", "1002", "1003"]
    assert numbers(q="02") == ["1002"]
    assert numbers(q="bob") == ["1002"]  # not Globex's Bob
    assert numbers(q="minh") == ["1003"]
    assert numbers(q="nguyễn") == ["1003"]
    assert numbers(q="nobody") == []
    assert numbers(limit="1") == ["1001"]


def test_bad_parameters_and_credentials(client: Client, token: str, colleagues: None, make_token: Callable,
                                        extension: Extension) -> None:
    assert get(client, None).status_code == 401
    assert get(client, "nonsense").json()["code"] == "unauthorized"
    for params in ({"limit": "0"}, {"limit": "51"}, {"limit": "x"}, {"q": "9" * 65}):
        response = get(client, token, **params)
        assert response.status_code == 400 and response.json()["code"] == "bad_request", params
    foreign = client.get(URL, headers={"Authorization": f"Bearer {token}", "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert client.post(URL, headers={"Authorization": f"Bearer {token}"}).status_code == 405


@pytest.mark.live
async def test_presence_follows_real_devices_and_calls(daphne_server: LiveServer) -> None:
    def directory(token: str) -> dict[str, str]:
        request = urllib.request.Request(f"{daphne_server.url}{URL}?q=100",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return {r["number"]: r["presence"] for r in json.loads(response.read())["results"]}

    token = daphne_server.token("1004")
    before = await asyncio.to_thread(directory, token)
    assert before["1003"] == "offline"
    carol = await PhoneClient.connect(daphne_server.ws_url, daphne_server.token("1003"))
    dave = await PhoneClient.connect(daphne_server.ws_url, daphne_server.token("1004"))
    try:
        await carol.registered()
        await dave.registered()
        assert (await asyncio.to_thread(directory, token))["1003"] == "available"
        call = await dave.call("1003")
        incoming = await carol.expect("call.incoming")
        await carol.answer(incoming)
        await call.expect("call.answered", timeout_s=10)
        now = await asyncio.to_thread(directory, token)
        assert now["1003"] == "busy" and now["1004"] == "busy"
    finally:
        await carol.close()
        await dave.close()
    await asyncio.sleep(0.5)
    assert (await asyncio.to_thread(directory, token))["1003"] == "offline"
