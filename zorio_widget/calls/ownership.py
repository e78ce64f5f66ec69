"""Who owns a live call record, so that no record stays open when its process dies.

Every record is stamped at creation with this process's `NODE_NAME` and a random instance id
drawn when the process starts. While calls are live the process refreshes `last_activity_at` on
its open records (one UPDATE every `RECORD_HEARTBEAT_S`). A process that starts under a node name
closes what earlier instances of that name left open: `failed`, ended at their last known
activity. The same fields let a cluster survivor close a dead process's records.
"""

import asyncio
import logging
import secrets
from datetime import datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from zorio_widget.calls.events import call_event
from zorio_widget.calls.models import CallRecord, EndReason

logger = logging.getLogger(__name__)

#: This process's instance: new at every start, so leftovers of the previous one are told apart.
INSTANCE_ID = secrets.token_hex(8)


def owner_fields() -> dict[str, object]:
    """The ownership stamp of a record created now by this process."""
    return {"owner_node": settings.NODE_NAME, "owner_instance": INSTANCE_ID, "last_activity_at": timezone.now()}


def close_records(records: "list[CallRecord]", now: datetime) -> int:
    """Closes open records left by a dead process: `failed`, ended at their last known activity."""
    closed = 0
    for record in records:
        ended_at = max(record.last_activity_at or now, record.answered_at or record.started_at)
        duration = (ended_at - record.answered_at).total_seconds() if record.answered_at else 0.0
        with transaction.atomic():
            done = CallRecord.objects.filter(pk=record.pk, ended_at__isnull=True).update(
                ended_at=ended_at, end_reason=EndReason.FAILED, duration=round(duration, 3))
            if done:
                call_event.send(CallRecord, uuid=record.uuid, tenant_id=record.tenant_id, event="call.ended")
        closed += done
    return closed


def close_leftovers_blocking() -> int:
    """At start-up: close the open records earlier instances of this node left (a crash, kill -9).

    Records from before ownership existed (no node) are closed too: nothing can still own them.
    """
    leftovers = CallRecord.objects.filter(ended_at__isnull=True).filter(
        Q(owner_node=settings.NODE_NAME) | Q(owner_node="")).exclude(owner_instance=INSTANCE_ID)
    try:
        closed = close_records(list(leftovers), timezone.now())
    except DatabaseError as exc:  # not migrated yet: nothing to close
        logger.warning("could not close leftover call records: %s", exc)
        return 0
    if closed:
        logger.warning("closed %d call record(s) left open by an earlier process of node %s",
                       closed, settings.NODE_NAME)
    return closed


@database_sync_to_async
def _stamp_live_records() -> None:
    CallRecord.objects.filter(owner_instance=INSTANCE_ID, ended_at__isnull=True).update(
        last_activity_at=timezone.now())


class RecordHeartbeat:
    """Refreshes `last_activity_at` on this process's open records while it has live calls."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="record-heartbeat")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await _stamp_live_records()
            except Exception:  # a database hiccup must not end the heartbeat
                logger.exception("could not stamp live call records")
