"""Size of the built widget scripts: raw, minified as shipped, and gzip -9.

Run: `python -m bench.bundle` (prints one line per file; webphone.js's budget is 20 KB min+gzip; the
widget UI that it loads when mounted, webphone-ui.js, and the connection check it loads on the first
`diagnose()`, webphone-diagnose.js, are listed with it, then what a partner's page loads for the
mounted widget: webphone.js + webphone-ui.js, two files, each gzipped on its own as a server sends them).
"""

import gzip
import sys
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "zorio"
BUDGETS_BYTES = {"webphone.js": 20 * 1024}
#: webphone-ui.js is the widget UI, which webphone.js loads only for `connect({mount})`;
#: webphone-diagnose.js the connection check, loaded on the first `diagnose()`.
FILES = ("webphone.js", "webphone-ui.js", "webphone-diagnose.js", "softphone.js")
#: What a partner's page loads for the widget with its UI (`connect({mount})`), before any diagnose().
FULL_WIDGET = ("webphone.js", "webphone-ui.js")


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def main() -> int:
    over = False
    for name in FILES:
        path = STATIC_DIR / name
        if not path.exists():
            continue
        data = path.read_bytes()
        size = gzip_size(data)
        budget = BUDGETS_BYTES.get(name)
        verdict = ""
        if budget is not None:
            verdict = f"  budget {budget / 1024:.1f} KB {'OK' if size <= budget else 'OVER'}"
            over |= size > budget
        print(f"{name}: min {len(data)} B, min+gzip {size} B ({size / 1024:.1f} KB){verdict}")
    full = [STATIC_DIR / name for name in FULL_WIDGET]
    if all(path.exists() for path in full):
        total = sum(gzip_size(path.read_bytes()) for path in full)
        print(f"mounted widget ({' + '.join(FULL_WIDGET)}): min+gzip {total} B ({total / 1024:.1f} KB)")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
