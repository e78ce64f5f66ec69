"""Writing call records from the event loop (each write runs in Django's DB thread); each write
that starts, answers or ends a call sends `events.call_event` in its transaction (webhooks)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from zorio_widget.calls.events import call_event
from zorio_widget.calls.legs import Endpoint
from zorio_widget.calls.models import CallRecord, Direction
from zorio_widget.calls.ownership import owner_fields
from zorio_widget.calls.routing import Route, RouteKind

OPTION_FIELDS = ("campaign_id", "lead_id", "customer_id", "caller_name")


def record_options(options: dict[str, Any]) -> dict[str, Any]:
    """The `call.create.options` the record keeps, typed; unknown keys go to `meta`."""
    fields: dict[str, Any] = {name: str(options[name])[:120] for name in OPTION_FIELDS if options.get(name)}
    fields["recording"] = bool(options.get("recording", False))
    meta = options.get("meta")
    extra = {k: v for k, v in options.items() if k not in (*OPTION_FIELDS, "recording", "meta")}
    fields["meta"] = {**(meta if isinstance(meta, dict) else {}), **extra}
    return fields


def _direction(route: Route, origin: Endpoint) -> Direction:
    """A party that is no extension (a trunk's caller) calls in; an extension calls another
    extension (internal) or anything else (outgoing)."""
    if origin.extension_id is None:
        return Direction.INCOMING
    return Direction.INTERNAL if route.kind == RouteKind.EXTENSION else Direction.OUTGOING


def call_fields(route: Route, origin: Endpoint) -> dict[str, Any]:
    """Who calls whom, as a new call's record keeps it."""
    return {
        "tenant_id": origin.tenant_id,
        "direction": _direction(route, origin),
        "from_extension_id": origin.extension_id,
        "to_extension_id": route.extension_id,
        "from_number": origin.number,
        "from_name": origin.name,
        "to_number": route.number,
        "to_name": route.name,
    }


@database_sync_to_async
def create_record(started_at: datetime, **fields: Any) -> CallRecord:
    with transaction.atomic():
        record = CallRecord.objects.create(started_at=started_at, **owner_fields(), **fields)
        call_event.send(CallRecord, uuid=record.uuid, tenant_id=record.tenant_id, event="call.started")
    return record


@database_sync_to_async
def update_record(uuid: UUID, **fields: Any) -> None:
    """Fields that announce nothing (a SIP final code...)."""
    CallRecord.objects.filter(uuid=uuid).update(**fields)


@database_sync_to_async
def answer_record(uuid: UUID, tenant_id: int, started_at: datetime, answered_at: datetime) -> None:
    with transaction.atomic():
        CallRecord.objects.filter(uuid=uuid).update(answered_at=answered_at)
        call_event.send(CallRecord, uuid=uuid, tenant_id=tenant_id, event="call.answered",
                        setup_s=(answered_at - started_at).total_seconds())


@database_sync_to_async
def finish_record(uuid: UUID, tenant_id: int, reason: str, answered_at: datetime | None, **fields: Any) -> None:
    ended_at = timezone.now()
    duration = (ended_at - answered_at).total_seconds() if answered_at else 0.0
    with transaction.atomic():
        CallRecord.objects.filter(uuid=uuid).update(
            ended_at=ended_at, end_reason=reason, duration=round(duration, 3), **fields
        )
        call_event.send(CallRecord, uuid=uuid, tenant_id=tenant_id, event="call.ended")
