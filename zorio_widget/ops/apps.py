"""The operations app: it times call set-up from the call layer's `call_event` (no call-layer import of ops).

`call.answered` is sent in the transaction that stamps the record's `answered_at`
(zorio_widget/calls/records.py); the record's `started_at` was stamped when the call was placed, so
their difference is the set-up time `zorio_call_setup_seconds` observes, per tenant.
"""

import logging
from typing import Any
from uuid import UUID

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def observe_answered(sender: Any, *, uuid: UUID, event: str, **kwargs: Any) -> None:
    if event != "call.answered":
        return
    from zorio_widget.calls.models import CallRecord
    from zorio_widget.ops.metrics import observe_setup

    try:
        row = CallRecord.objects.filter(uuid=uuid).values_list("started_at", "answered_at", "tenant__slug").first()
    except Exception:  # never fail the record's write for a metric
        logger.exception("call %s: set-up time not measured", uuid)
        return
    if row is not None and row[0] is not None and row[1] is not None:
        observe_setup((row[1] - row[0]).total_seconds(), row[2])


class OpsConfig(AppConfig):
    name = "zorio_widget.ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        try:
            from zorio_widget.calls.events import call_event
        except ImportError:  # a call layer without the signal (older checkout): no set-up histogram
            logger.warning("zorio_widget.calls.events is missing: call set-up time is not measured")
            return
        call_event.connect(observe_answered, dispatch_uid="zorio_widget.ops.observe_answered")
