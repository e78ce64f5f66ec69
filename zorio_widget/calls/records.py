"""Writing call records from the event loop (each write runs in Django's DB thread)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from django.utils import timezone

from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.ownership import owner_fields

OPTION_FIELDS = ("campaign_id", "lead_id", "customer_id", "caller_name")


def record_options(options: dict[str, Any]) -> dict[str, Any]:
    """The `call.create.options` the record keeps, typed; unknown keys go to `meta`."""
    fields: dict[str, Any] = {name: str(options[name])[:120] for name in OPTION_FIELDS if options.get(name)}
    fields["recording"] = bool(options.get("recording", False))
    meta = options.get("meta")
    extra = {k: v for k, v in options.items() if k not in (*OPTION_FIELDS, "recording", "meta")}
    fields["meta"] = {**(meta if isinstance(meta, dict) else {}), **extra}
    return fields


@database_sync_to_async
def create_record(**fields: Any) -> CallRecord:
    return CallRecord.objects.create(started_at=timezone.now(), **owner_fields(), **fields)


@database_sync_to_async
def update_record(uuid: UUID, **fields: Any) -> None:
    CallRecord.objects.filter(uuid=uuid).update(**fields)


@database_sync_to_async
def finish_record(uuid: UUID, reason: str, answered_at: datetime | None, **fields: Any) -> None:
    ended_at = timezone.now()
    duration = (ended_at - answered_at).total_seconds() if answered_at else 0.0
    CallRecord.objects.filter(uuid=uuid).update(
        ended_at=ended_at, end_reason=reason, duration=round(duration, 3), **fields
    )
