"""Log filters: credentials never reach a log line, access log included (zorio_widget/serve.py).

Three shapes are redacted wherever they appear in a record's message or traceback: credential query
parameters (`?token=`, `refresh_token=`, `access_token=`, `api_key=`, also percent-encoded inside
another parameter), `Authorization` credentials (`Bearer …`, `Api-Key …`, `Basic …`) and JSON or
repr fields with those names (`"token": "…"`).
"""

import logging
import re

REDACTED = "***"

_NAME = r"(?:[A-Za-z0-9_-]*token|api[_-]?key)"
_PATTERNS = (
    # ?token=…&, refresh_token=…, api_key=…; `%3D` is `=` percent-encoded (a `next=` URL, say).
    re.compile(rf"(\b{_NAME}(?:=|%3D))[^&\s\"'<>]+", re.IGNORECASE),
    # Authorization: Bearer …, Api-Key …, Basic …
    re.compile(r"(\b(?:Bearer|Api-Key|Basic)\s+)[^\s\"',;]+", re.IGNORECASE),
    # {"token": "…"}, {'refresh_token': '…'}
    re.compile(rf"([\"']{_NAME}[\"']\s*:\s*[\"'])[^\"']+", re.IGNORECASE),
)


def redact(text: str) -> str:
    """`text` with the value of every credential it carries replaced by `***`."""
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


class RedactTokens(logging.Filter):
    """Rewrites a record's message (and its traceback text) with `redact()`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it when it formats it
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
