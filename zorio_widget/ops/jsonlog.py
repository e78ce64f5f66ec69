"""One JSON object per log line (`LOG_FORMAT=json`), for log shippers; text stays the default.

Each line has `timestamp` (UTC, ISO 8601 with milliseconds), `level`, `logger`, `message`,
`process` (the node name), `pid`, and `call_uuid` and `tenant` when the line is about a call
(logcontext.CallContextFilter), `leg` for media lines, `exception` with the traceback. Only these
fields are written, never a record's other `extra` values, so nothing unfiltered reaches the log:
the message and traceback have been through RedactTokens (zorio_widget/logging_filters.py) on the
same handler, and the string fields are redacted again here.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from zorio_widget.logging_filters import redact

#: Record attributes written when present and not empty.
OPTIONAL_FIELDS = ("call_uuid", "tenant", "leg")


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        # Every line must be JSON: Python's warnings (printed to stderr by default) become records.
        logging.captureWarnings(True)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": getattr(record, "node", ""),
            "pid": record.process,
        }
        for name in OPTIONAL_FIELDS:
            value = getattr(record, name, "")
            if value:
                line[name] = redact(str(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact(record.exc_text)
        if record.stack_info:
            line["stack"] = redact(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development format: time, level, logger, `[call … tenant …]` on call lines whose message
    does not already name the call, the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(call)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        call_uuid, tenant = getattr(record, "call_uuid", ""), getattr(record, "tenant", "")
        parts = [f"call {call_uuid}"] if call_uuid and call_uuid not in record.getMessage() else []
        parts += [f"tenant {tenant}"] if tenant else []
        record.call = f"[{' '.join(parts)}] " if parts else ""
        return super().format(record)
