"""The call record: one row per call (shared `uuid` of both legs), written at creation and
completed at the end, so every call leaves a trace even when a socket or a worker dies."""

import uuid as uuid_lib

from django.db import models

from zorio_widget.tenants.models import Extension, Tenant


class Direction(models.TextChoices):
    INTERNAL = "internal"  # extension to extension
    OUTGOING = "outgoing"  # extension to a service number or a trunk
    INCOMING = "incoming"  # from a trunk to an extension


class EndReason(models.TextChoices):
    HANGUP = "hangup"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    TRANSFERRED = "transferred"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    ANSWERED_ELSEWHERE = "answered-elsewhere"


class CallRecord(models.Model):
    class Kind(models.TextChoices):
        CALL = "call"
        VOICEMAIL = "voicemail"  # a message left with the voicemail scenario: its recording is the message

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="call_records")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    from_extension = models.ForeignKey(
        Extension, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls_made"
    )
    to_extension = models.ForeignKey(
        Extension, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls_received"
    )
    from_number = models.CharField(max_length=64)
    to_number = models.CharField(max_length=64)
    from_name = models.CharField(max_length=120, blank=True)
    to_name = models.CharField(max_length=120, blank=True)
    started_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds from answer to end.")
    end_reason = models.CharField(max_length=24, choices=EndReason.choices, blank=True)
    # Options from `call.create.options` (docs/DESIGN.md §4/§5).
    campaign_id = models.CharField(max_length=120, blank=True)
    lead_id = models.CharField(max_length=120, blank=True)
    customer_id = models.CharField(max_length=120, blank=True)
    recording = models.BooleanField(default=False)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CALL, db_index=True)
    caller_name = models.CharField(max_length=120, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    recording_file = models.FileField(upload_to="recordings/%Y/%m/%d", blank=True)
    card = models.JSONField(null=True, blank=True, help_text="After-call card saved by the agent.")
    transferred_to = models.CharField(max_length=64, blank=True)
    sip_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="A trunk call's final SIP response code (200, 486, 404...).")
    # Which server process owns the call while it is live (zorio_widget.calls.ownership): a
    # restarted process (same node) or, in a cluster, a survivor closes the records a dead one left.
    owner_node = models.CharField(max_length=120, blank=True, db_index=True)
    owner_instance = models.CharField(max_length=40, blank=True)
    last_activity_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the owning process saw the call alive."
    )

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["tenant", "started_at"])]

    def __str__(self) -> str:
        return f"{self.from_number} → {self.to_number} ({self.uuid})"

    def as_api(self, viewer: Extension | None = None) -> dict[str, object]:
        """The record as listed by `GET /api/webphone/calls`; `direction` is the viewer's."""
        direction = self.direction
        if viewer is not None and self.direction == Direction.INTERNAL:
            direction = "outgoing" if self.from_extension_id == viewer.pk else "incoming"
        return {
            "uuid": str(self.uuid),
            "direction": direction,
            "from": self.from_number,
            "from_name": self.from_name,
            "to": self.to_number,
            "to_name": self.to_name,
            "started_at": self.started_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration": self.duration,
            "end_reason": self.end_reason or None,
            "transferred_to": self.transferred_to or None,
            "sip_code": self.sip_code,
            "options": {
                "campaign_id": self.campaign_id,
                "lead_id": self.lead_id,
                "customer_id": self.customer_id,
                "recording": self.recording,
                "caller_name": self.caller_name,
                "meta": self.meta,
            },
            "kind": self.kind,
            # Served by the REST API with range requests, to the call's parties and the tenant's key.
            "recording_url": f"/api/webphone/calls/{self.uuid}/recording" if self.recording_file else None,
            "card": self.card,
        }
