"""The checks of what a scenario passes to the `Call` API, and the codes it maps.

A scenario is partner code: every argument that reaches the call layer or the wire is checked here
first (`ScenarioError` `bad_value` names what is wrong), so the call layer never sees a header it
could not send or a code it has no end reason for.
"""

from __future__ import annotations

import re
from typing import Final

from zorio_widget.scenarios.runner import ScenarioError

MAX_CUSTOM_DATA_BYTES: Final = 200
MAX_HEADERS: Final = 16
MAX_HEADER_VALUE_CHARS: Final = 256
HEADER_NAME: Final = re.compile(r"X-[A-Za-z0-9][A-Za-z0-9-]{0,63}", re.IGNORECASE)
DIGITS: Final = re.compile(r"[0-9*#A-Dp]{1,64}", re.IGNORECASE)
REJECT_REASONS: Final = {486: "busy", 600: "busy", 603: "rejected", 480: "no-answer", 408: "no-answer"}
"The caller's end reason for a `reject(code)`; any other 3xx-6xx code: `failed`."
FAILURE_CODES: Final = {"busy": 486, "no-answer": 480, "rejected": 603, "cancelled": 487, "failed": 500}
"The SIP-style `code` of a `Failed` event, by end reason."


def checked_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """`X-` headers as given (names `X-...`, string values), or `ScenarioError` (`bad_value`)."""
    if headers is None:
        return {}
    if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
        raise ScenarioError("bad_value", f"extra headers must be a dict of at most {MAX_HEADERS} X- headers")
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
            raise ScenarioError("bad_value", f"{name!r} is not an X- header name")
        if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE_CHARS or any(c in value for c in "\r\n\0"):
            raise ScenarioError("bad_value", f"header {name} needs a one-line string of at most "
                                             f"{MAX_HEADER_VALUE_CHARS} characters")
    return dict(headers)


def reject_reason(code: int) -> str:
    if not isinstance(code, int) or isinstance(code, bool) or not 300 <= code <= 699:
        raise ScenarioError("bad_value", f"reject() takes a SIP code from 300 to 699, not {code!r}")
    return REJECT_REASONS.get(code, "failed")


def checked_custom_data(value: str) -> str:
    """Custom data a scenario sets: a string of at most `MAX_CUSTOM_DATA_BYTES` bytes of UTF-8."""
    if not isinstance(value, str) or len(value.encode("utf-8")) > MAX_CUSTOM_DATA_BYTES:
        raise ScenarioError("bad_value", f"custom data is a string of at most {MAX_CUSTOM_DATA_BYTES} bytes")
    return value


def checked_digits(digits: str) -> str:
    """Digits for `send_digits`: 1 to 64 of 0-9 * # A-D and `p` (a pause)."""
    if not isinstance(digits, str) or not DIGITS.fullmatch(digits):
        raise ScenarioError("bad_value", f"digits must be 1 to 64 of 0-9 * # A-D p, not {digits!r}")
    return digits
