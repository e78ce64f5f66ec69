"""The webhooks app: it listens to the call layer's `call_event` and queues the tenant's webhook.

The call layer sends `calls.events.call_event` inside the transaction that writes the record
(`call.started`, `call.answered`, `call.ended`; zorio_widget/calls/records.py), so the event is
queued exactly when the write commits, and the calls floor never imports this (upper) one.
"""

import logging
from typing import Any
from uuid import UUID

from django.apps import AppConfig
from django.db import transaction

logger = logging.getLogger(__name__)


def queue_call_event(sender: Any, *, uuid: UUID, tenant_id: int, event: str, **kwargs: Any) -> None:
    """Queues `event` for the record `uuid`; a problem here never fails the record's own write.

    It runs at every call's set-up, answer and end, inside the record's transaction on the database
    thread all set-ups queue on: a tenant without an endpoint costs one indexed query and no
    savepoint. That query runs outside the savepoint: a plain SELECT that fails means the database
    is failing the record's write as well."""
    from zorio_widget.webhooks.outbox import enqueue_call_event, has_endpoint

    try:
        if not has_endpoint(tenant_id):
            return
        with transaction.atomic():  # a savepoint: on failure only the event is rolled back
            enqueue_call_event(uuid, event)
    except Exception:
        logger.exception("call %s: the %s webhook could not be queued", uuid, event)


class WebhooksConfig(AppConfig):
    name = "zorio_widget.webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        try:
            from zorio_widget.calls.events import call_event
        except ImportError:  # a call layer without the signal (older checkout): card events only
            logger.warning("zorio_widget.calls.events is missing: call webhooks are not queued")
            return
        call_event.connect(queue_call_event, dispatch_uid="zorio_widget.webhooks.queue_call_event")
