"""Log filters: tokens in URLs (`?token=`) must never reach access logs (DESIGN.md §4)."""

import logging
import re

_TOKEN_RE = re.compile(r"(token=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Replaces the value of every `token=` query parameter in a record with `***`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg = _TOKEN_RE.sub(r"\1***", message)
            record.args = None
        return True
