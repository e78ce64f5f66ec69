"""Admin: a tenant's endpoint with a generated, encrypted secret; the delivery log; "Retry now"."""

import pytest
from django.urls import reverse
from django.utils import timezone

from zorio_widget.tenants.models import Tenant
from zorio_widget.webhooks.models import EventStatus, WebhookAttempt, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db


def test_adding_an_endpoint_generates_an_encrypted_secret_shown_to_admins(admin_client) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    response = admin_client.post(reverse("admin:webhooks_webhookendpoint_add"),
                                 {"tenant": tenant.pk, "url": "https://crm.acme.example/hooks", "enabled": "on"})
    assert response.status_code == 302, response.content
    endpoint = WebhookEndpoint.objects.get(tenant=tenant)
    assert endpoint.secret.startswith("whsec_") and endpoint.secret not in endpoint.secret_encrypted
    page = admin_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret in page.content.decode()


def test_an_admin_sets_a_new_secret_and_refuses_a_non_http_url(admin_client) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    add = reverse("admin:webhooks_webhookendpoint_add")
    refused = admin_client.post(add, {"tenant": tenant.pk, "url": "file:///etc/passwd", "enabled": "on"})
    assert refused.status_code == 200 and not WebhookEndpoint.objects.exists()
    admin_client.post(add, {"tenant": tenant.pk, "url": "https://crm.acme.example/hooks", "enabled": "on",
                            "new_secret": "whsec_chosen-by-the-admin-1234"})
    assert WebhookEndpoint.objects.get().secret == "whsec_chosen-by-the-admin-1234"


def test_the_delivery_log_and_retry_now(admin_client) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    event = WebhookEvent.objects.create(tenant=tenant, event_type="call.ended", payload={"call": {}},
                                        status=EventStatus.FAILED, attempts=2, last_error="HTTP 500",
                                        next_attempt_at=timezone.now() + timezone.timedelta(hours=1))
    for number in (1, 2):
        WebhookAttempt.objects.create(event=event, number=number, started_at=timezone.now(), duration_ms=12,
                                      url="https://crm.acme.example/hooks", status_code=500, error="HTTP 500")
    page = admin_client.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk])).content.decode()
    assert page.count("HTTP 500") >= 2 and "https://crm.acme.example/hooks" in page
    delivered = WebhookEvent.objects.create(tenant=tenant, event_type="call.started", payload={},
                                            status=EventStatus.DELIVERED, attempts=1)
    response = admin_client.post(reverse("admin:webhooks_webhookevent_changelist"),
                                 {"action": "retry_now", "_selected_action": [event.pk, delivered.pk]})
    assert response.status_code == 302
    event.refresh_from_db()
    delivered.refresh_from_db()
    assert event.status == EventStatus.PENDING and event.next_attempt_at <= timezone.now()
    assert delivered.status == EventStatus.DELIVERED  # a delivered event is not sent again


def test_adding_an_event_queues_a_test_event(admin_client) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    response = admin_client.post(reverse("admin:webhooks_webhookevent_add"),
                                 {"tenant": tenant.pk, "event_type": "call.started", "payload": '{"test": true}'})
    assert response.status_code == 302, response.content
    event = WebhookEvent.objects.get()
    assert (event.status, event.payload, event.event_id[:4]) == (EventStatus.PENDING, {"test": True}, "evt_")
