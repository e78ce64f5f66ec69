"""A tenant's webhook endpoint, the outbox of events to deliver, and the log of delivery attempts.

The endpoint lives here rather than on `Tenant` (one row per tenant, `tenant.webhook`): its
secret is encrypted with this app's key derivation, it has its own admin page next to the delivery
log, and the tenants app stays free of delivery concerns.
"""

from __future__ import annotations

import secrets

from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from zorio_widget.tenants.models import Tenant
from zorio_widget.webhooks import crypto

EVENT_TYPES = ("call.started", "call.answered", "call.ended", "card.saved", "recording.ready")
"""Every event a tenant's webhook receives (README "Webhooks")."""


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


class WebhookEndpoint(models.Model):
    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(max_length=500, validators=[URLValidator(schemes=["https", "http"])],
                          help_text="Receives every event as a signed JSON POST. Use https in production.")
    secret_encrypted = models.TextField(editable=False)
    enabled = models.BooleanField(default=True, help_text="Off: no new events are queued for this tenant.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.tenant} → {self.url}"

    @property
    def secret(self) -> str:
        """The signing secret (decrypted); raises `crypto.SecretUnreadable` after a key change."""
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)


class EventStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEvent(models.Model):
    """One event in the outbox. Pending rows are claimed when `next_attempt_at` is due; a claim
    moves `next_attempt_at` past the delivery's deadline, so the row of a process that dies while
    delivering becomes due again (at least once)."""

    event_id = models.CharField(max_length=40, unique=True, default=new_event_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_events")
    event_type = models.CharField(max_length=40, choices=[(t, t) for t in EVENT_TYPES])
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_event_due")]
        verbose_name = "webhook event"

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of an event: what was contacted, what came back, how long it took."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    url = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    node = models.CharField(max_length=120, blank=True, help_text="The server process that sent it.")

    class Meta:
        ordering = ["event", "number"]
        verbose_name = "delivery attempt"

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.event.event_id}: {self.status_code or self.error}"
