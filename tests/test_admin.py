"""Every model registered in the admin: changelist, add and change pages load for a superuser."""

from collections.abc import Callable

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from zorio_widget.calls.models import CallRecord
from zorio_widget.routes.models import Route
from zorio_widget.tenants.models import ApiKey, Extension, Tenant, Theme
from zorio_widget.trunks.models import Did, Trunk
from zorio_widget.webhooks.models import WebhookEndpoint, WebhookEvent

# Rows to open the change page of: every registered model needs one (a model registered without a
# builder fails, so its change page is never left untested).
BUILDERS: dict[type[Model], Callable[[Extension], Model]] = {
    Group: lambda ext: Group.objects.create(name="agents"),
    User: lambda ext: ext.user or User.objects.create_user("bob"),
    Tenant: lambda ext: ext.tenant,
    Extension: lambda ext: ext,
    ApiKey: lambda ext: ApiKey.objects.create_key(ext.tenant, "crm")[0],
    Theme: lambda ext: Theme.objects.create(tenant=ext.tenant, name="Blue", is_default=True),
    CallRecord: lambda ext: CallRecord.objects.create(
        tenant=ext.tenant, direction="internal", from_extension=ext, from_number=ext.number, to_number="1002",
        started_at=timezone.now(), end_reason="hangup", meta={"k": "v"}, card={"note": "ok"},
    ),
    WebhookEndpoint: lambda ext: WebhookEndpoint.objects.create(
        tenant=ext.tenant, url="https://crm.acme.example/hooks", secret_encrypted=""),
    WebhookEvent: lambda ext: WebhookEvent.objects.create(tenant=ext.tenant, event_type="call.ended", payload={}),
    Trunk: lambda ext: Trunk.objects.create(tenant=ext.tenant, name="carrier", host="sip.carrier.example"),
    Route: lambda ext: Route.objects.create(tenant=ext.tenant, number="7000", scenario="announcement",
                                            params={"prompt": "Hello"}),
    Did: lambda ext: Did.objects.create(
        trunk=Trunk.objects.create(tenant=ext.tenant, name="dids", host="sip.carrier.example"),
        number="+84281234567", target=ext.number),
}

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_the_project_models_are_registered() -> None:
    assert {Tenant, Extension, ApiKey, Theme, CallRecord} <= set(REGISTERED)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_admin_pages_load(model: type[Model], admin_client: Client, extension: Extension) -> None:
    assert model in BUILDERS, f"add a builder for {model._meta.label} to BUILDERS"
    row = BUILDERS[model](extension)
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "changelist"), {"q": "a"}).status_code == 200
    assert admin_client.get(admin_url(model, "add")).status_code == 200
    response = admin_client.get(admin_url(model, "change", row.pk))
    assert response.status_code == 200


def test_api_key_add_shows_the_key_once(admin_client: Client, tenant: Tenant) -> None:
    response = admin_client.post(admin_url(ApiKey, "add"), {"tenant": tenant.pk, "name": "crm"}, follow=True)
    assert response.status_code == 200
    key = ApiKey.objects.get()
    shown = [str(m) for m in response.context["messages"] if "shown once" in str(m)]
    assert len(shown) == 1
    raw = shown[0].rsplit(" ", 1)[1]
    assert ApiKey.objects.verify(raw) == key
    assert key.name == "crm" and key.tenant == tenant
    assert raw not in key.hashed_key
    # Not shown again: the change page and the list carry only the prefix.
    for url in (admin_url(ApiKey, "change", key.pk), admin_url(ApiKey, "changelist")):
        page = admin_client.get(url).content.decode()
        assert raw not in page
        assert key.prefix in page


def test_api_key_can_be_revoked_in_the_admin(admin_client: Client, tenant: Tenant) -> None:
    key, raw = ApiKey.objects.create_key(tenant, "crm")
    response = admin_client.post(admin_url(ApiKey, "change", key.pk),
                                 {"tenant": tenant.pk, "name": "crm", "revoked": "on"})
    assert response.status_code == 302
    assert ApiKey.objects.verify(raw) is None
    key.refresh_from_db()
    assert key.hashed_key and key.prefix == raw[:8]


def test_theme_admin_can_switch_the_default(admin_client: Client, tenant: Tenant) -> None:
    old = Theme.objects.create(tenant=tenant, name="Blue", is_default=True)
    data = {"tenant": tenant.pk, "name": "Dark", "is_default": "on", "mode": "dark", "primary_color": "#000000",
            "accent_color": "#16a34a", "danger_color": "#dc2626", "default_layout": "docked", "default_locale": "en"}
    response = admin_client.post(admin_url(Theme, "add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    old.refresh_from_db()
    assert not old.is_default
    assert Theme.objects.get(tenant=tenant, is_default=True).name == "Dark"
