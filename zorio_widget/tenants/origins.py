"""Matching a browser `Origin` against a tenant's allowed-origin patterns.

Patterns are origins where `*` stands for any port or any host label run, e.g.
`http://127.0.0.1:*`, `https://*.example.com`. Anything else must match exactly.
"""

import re
from functools import lru_cache

_PORT = "[0-9]{1,5}"
_HOST_LABELS = "[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*"


@lru_cache(maxsize=1024)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # A `*` right after `:` is a port (digits only); elsewhere it is one or more host labels.
    first, *rest = pattern.strip().rstrip("/").split("*")
    regex = re.escape(first)
    for piece in rest:
        regex += (_PORT if regex.endswith(":") else _HOST_LABELS) + re.escape(piece)
    return re.compile(regex, re.IGNORECASE)


def origin_matches(origin: str, patterns: list[str]) -> bool:
    """True when `origin` matches one of `patterns` (an empty origin never matches)."""
    origin = origin.strip().rstrip("/")
    if not origin or origin == "null":
        return False
    return any(_pattern_regex(p).fullmatch(origin) for p in patterns if p.strip())
