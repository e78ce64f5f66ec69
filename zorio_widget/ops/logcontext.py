"""Which call a log line is about: `call_uuid`, `tenant` and the process's `node` on every record.

The call layer wraps the work of one call in `call_context(uuid, tenant)` (a context variable, so
tasks started inside inherit it and other calls' tasks never see it); a line may also pass
`extra={"call_uuid": ..., "tenant": ...}`. `CallContextFilter`, on every handler, fills the fields
from whichever is there, and, for the call layer's "call <uuid>: ..." lines logged outside any
context, takes the uuid from that first argument. Every record also gets `node`
(settings.NODE_NAME), the process it came from in a cluster.
"""

from __future__ import annotations

import contextvars
import logging
import uuid as uuid_lib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class CallContext:
    call_uuid: str
    tenant: str


_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("zorio_call_context", default=None)


@contextmanager
def call_context(call_uuid: object, tenant: object = "") -> Iterator[CallContext]:
    """Log records made inside (and in tasks started inside) carry this call's uuid and tenant."""
    context = CallContext(str(call_uuid), str(tenant))
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def set_call_context(call_uuid: object, tenant: object = "") -> contextvars.Token[CallContext | None]:
    """For code that cannot use a `with` block (a task's whole life): returns the token to reset."""
    return _current.set(CallContext(str(call_uuid), str(tenant)))


def current_call() -> CallContext | None:
    return _current.get()


def _uuid_in_message(record: logging.LogRecord) -> str:
    """The uuid of a "call %s: ..." line whose first argument is the call's uuid."""
    if isinstance(record.msg, str) and record.msg.startswith("call %s") and isinstance(record.args, tuple):
        if record.args and isinstance(record.args[0], uuid_lib.UUID):
            return str(record.args[0])
    return ""


class CallContextFilter(logging.Filter):
    """Sets `call_uuid`, `tenant` (empty when not a call line) and `node` on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        if not getattr(record, "call_uuid", ""):
            record.call_uuid = context.call_uuid if context else _uuid_in_message(record)
        if not getattr(record, "tenant", ""):
            record.tenant = context.tenant if context else ""
        record.node = node_name()
        return True


def node_name() -> str:
    try:
        return str(settings.NODE_NAME)
    except Exception:  # settings not configured yet (a line logged while Django starts)
        return ""
