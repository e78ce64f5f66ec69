"""A rendered recording is stored on its record and announced as the tenant's `recording.ready`
webhook, queued in the same transaction (calls/events.py, the webhooks app's receiver)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.recording import _store_file
from zorio_widget.tenants.models import Tenant
from zorio_widget.webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_stored_recording_queues_recording_ready(tenant: Tenant) -> None:
    await WebhookEndpoint.objects.acreate(tenant=tenant, url="https://crm.acme.example/hooks", secret_encrypted="")
    record = await CallRecord.objects.acreate(tenant=tenant, direction="internal", from_number="1001",
                                              to_number="1002", started_at=timezone.now())
    await _store_file(record.uuid, tenant.pk, f"{tenant.slug}/2026/12/01/{record.uuid}.ogg")
    event = await WebhookEvent.objects.aget(event_type="recording.ready")
    call = event.payload["call"]
    assert call["uuid"] == str(record.uuid) and call["recording_url"] == f"/api/webphone/calls/{record.uuid}/recording"
    assert call["options"]["recording"] is True
