"""The operations app: it times call set-up from the call layer's `call_event` (no call-layer import of ops).

`call.answered` is sent in the transaction that stamps the record's `answered_at`
(zorio_widget/calls/records.py) with `setup_s`, the time from placing the call (the record's
`started_at`) to its answer: what `zorio_call_setup_seconds` observes, per tenant.
"""

import logging
from typing import Any

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def observe_answered(sender: Any, *, event: str, tenant_id: int, setup_s: float = 0.0, **kwargs: Any) -> None:
    if event != "call.answered":
        return
    from zorio_widget.ops.metrics import observe_setup
    from zorio_widget.ops.tenantlabels import tenant_label

    try:
        observe_setup(setup_s, tenant_label(tenant_id))
    except Exception:  # never fail the record's write for a metric
        logger.exception("call %s: set-up time not measured", kwargs.get("uuid"))


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
