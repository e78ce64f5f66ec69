"""The protocol reference in README.md, generated from the message tables of `protocol.py` and the
error catalogue (zorio_widget/protocol/errors.py: WebSocket, REST and SDK codes).

`python -m zorio_widget.signalling.docs` rewrites the block between the markers below;
`tests/signalling/test_docs.py` fails when the README is out of date.
"""

import os
import sys
from pathlib import Path

from zorio_widget.protocol.errors import PROTOCOL_ERRORS, REST_ERRORS, SDK_ERRORS
from zorio_widget.protocol.messages import (
    CLIENT_MESSAGES,
    END_REASONS,
    SERVER_MESSAGES,
    Message,
)

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- protocol reference: generated -->"
END = "<!-- end of protocol reference -->"


def _fields(msg: Message) -> str:
    parts = []
    for f in msg.fields:
        text = f"`{f.name}`" + ("" if f.required else "?") + f" {f.type}"
        if f.max_chars:
            text += f" ≤{f.max_chars}"
        parts.append(text)
    return ", ".join(parts) or "—"


def render() -> str:
    lines = [BEGIN, "", "Client → server:", "", "| type | fields | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{m.type}` | {_fields(m)} | {m.doc} |" for m in CLIENT_MESSAGES.values()]
    lines += ["", "Server → client:", "", "| type | fields | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{m.type}` | {_fields(m)} | {m.doc} |" for m in SERVER_MESSAGES.values()]
    lines += ["", "Error codes (`error.code`):", "", "| code | meaning | what to do |", "| --- | --- | --- |"]
    lines += [f"| `{e.code}` | {e.message} | {e.what_to_do} |" for e in PROTOCOL_ERRORS.values()]
    lines += ["", "End reasons (`call.ended.reason`): " + ", ".join(f"`{r}`" for r in END_REASONS) + "."]
    lines += ["", "REST error codes (the `code` of a JSON error body `{\"code\", \"message\"}` under `/api/`):", "",
              "| code | HTTP status | meaning | what to do |", "| --- | --- | --- | --- |"]
    lines += [f"| `{e.code}` | {e.http_status} | {e.message} | {e.what_to_do} |" for e in REST_ERRORS.values()]
    lines += ["", "SDK error codes (`ZorioWebphoneError.code`; a server refusal not listed here keeps its "
              "`error.code`):", "", "| code | meaning | what to do |", "| --- | --- | --- |"]
    lines += [f"| `{e.code}` | {e.message} | {e.what_to_do} |" for e in SDK_ERRORS.values()]
    lines += ["", "Every error code comes from one catalogue, `zorio_widget/protocol/errors.py`.", "", END]
    return "\n".join(lines)


def updated_readme(text: str) -> str:
    start = text.index(BEGIN)
    end = text.index(END) + len(END) if END in text else start + len(BEGIN)
    return text[:start] + render() + text[end:]


def main(argv: list[str]) -> int:
    text = README.read_text()
    new = updated_readme(text)
    if "--check" in argv:
        return 0 if new == text else 1
    README.write_text(new)
    print(f"updated {README}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zorio_widget.settings")
    raise SystemExit(main(sys.argv[1:]))
