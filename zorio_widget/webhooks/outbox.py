"""Queueing events: a row in the outbox, written in the caller's transaction.

`enqueue` is synchronous on purpose: called inside the `transaction.atomic()` that writes a call
record or a card, the event exists exactly when the write it describes does (a rolled-back write
queues nothing). Delivery workers of this process are woken when the transaction commits; those of
other processes find the row at their next poll. From the event loop use `aenqueue`.

Floors: this module and `models` sit with the call records (the calls layer may call them);
`delivery` is an edge, like the REST API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid as uuid_lib
from typing import Any

from channels.db import database_sync_to_async
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from zorio_widget.calls.models import CallRecord
from zorio_widget.webhooks.models import EVENT_TYPES, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

_wakers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
_wakers_lock = threading.Lock()


def add_waker(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    """A delivery worker's event, set (on its loop) whenever this process queues an event."""
    with _wakers_lock:
        _wakers.add((loop, event))


def remove_waker(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    with _wakers_lock:
        _wakers.discard((loop, event))


def wake_workers() -> None:
    with _wakers_lock:
        wakers = list(_wakers)
    for loop, event in wakers:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


def enqueue(tenant_id: int, event_type: str, payload: dict[str, Any]) -> WebhookEvent | None:
    """Queues `event_type` with `payload` (JSON-serialisable; UUIDs and datetimes become strings)
    for the tenant's webhook. Returns the event, or None when the tenant has no enabled endpoint.
    Raises ValueError for an unknown event type or a payload that is not JSON."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}; one of {', '.join(EVENT_TYPES)}")
    try:
        data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"webhook payload is not JSON: {exc}") from exc
    if not has_endpoint(tenant_id):
        return None
    event = WebhookEvent.objects.create(tenant_id=tenant_id, event_type=event_type, payload=data)
    transaction.on_commit(wake_workers)
    logger.info("webhook %s %s queued", event.event_type, event.event_id)
    return event


aenqueue = database_sync_to_async(enqueue)


def has_endpoint(tenant_id: int) -> bool:
    """Whether the tenant has an enabled webhook endpoint (one indexed query)."""
    return WebhookEndpoint.objects.filter(tenant_id=tenant_id, enabled=True).exists()


def enqueue_call_event(call_uuid: uuid_lib.UUID | str, event_type: str) -> WebhookEvent | None:
    """Queues a call event whose payload is the call record as the REST API lists it (`"call"`)."""
    record = CallRecord.objects.filter(uuid=call_uuid).first()
    if record is None:
        raise ValueError(f"no call record {call_uuid}")
    return enqueue(record.tenant_id, event_type, {"call": record.as_api()})
