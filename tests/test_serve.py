"""`python -m zorio_widget.serve`: Daphne's access log goes through logging, and no line carries a credential.

The live server (tests/live.py) runs the same launcher as `make run` and the image; its whole output
(stdout and stderr) is searched for the secrets sent in URLs and headers.
"""

import asyncio
import json
import logging
import re
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
import websockets

from tests.live import LiveServer
from zorio_widget.logging_filters import RedactTokens, redact

ORIGIN = "http://127.0.0.1:5173"


def wait_for_log(server: LiveServer, pattern: str, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = server.log()
        if re.search(pattern, log):
            return log
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in the server log:\n{server.log()[-4000:]}")


def get(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.live
def test_no_log_line_carries_a_token_and_the_access_lines_are_kept(daphne_server: LiveServer) -> None:
    secret = f"SECRET{uuid.uuid4().hex}"
    valid = daphne_server.token("1001")
    assert get(f"{daphne_server.url}/softphone/?token={secret}&tenant=demo") == 200
    assert get(f"{daphne_server.url}/api/webphone/sip-config?access_token={secret}a",
               {"Authorization": f"Bearer {secret}b"}) == 401
    assert get(f"{daphne_server.url}/api/nowhere/?refresh_token={secret}c&api_key={secret}d",
               {"Authorization": f"Api-Key {secret}e"}) == 404

    async def websocket_with_query_tokens() -> None:
        async with websockets.connect(f"{daphne_server.ws_url}?token={valid}",
                                      additional_headers={"Origin": ORIGIN}) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "registered"
        async with websockets.connect(f"{daphne_server.ws_url}?token={secret}f",
                                      additional_headers={"Origin": ORIGIN}) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["code"] == "unauthorized"

    asyncio.run(websocket_with_query_tokens())

    log = wait_for_log(daphne_server, r'"GET /api/nowhere/\?refresh_token=\*\*\*&api_key=\*\*\*" 404')
    log = wait_for_log(daphne_server, r'"WSDISCONNECT /ws/webphone/')
    assert '"GET /softphone/?token=***&tenant=demo" 200' in log
    assert '"GET /api/webphone/sip-config?access_token=***" 401' in log
    assert re.search(r'"WSCONNECT /ws/webphone/[^"]*" - -', log)
    assert secret not in log
    assert valid not in log and valid.rsplit(":", 1)[-1] not in log
    assert not re.search(r"token=(?!\*\*\*)", log, re.IGNORECASE), "an unredacted token= in the log"


@pytest.mark.parametrize(("text", "expected"), [
    ("GET /softphone/?token=abc.def:ghi&tenant=demo", "GET /softphone/?token=***&tenant=demo"),
    ("POST /x?refresh_token=r1&access_token=a1&api_key=k1", "POST /x?refresh_token=***&access_token=***&api_key=***"),
    ("GET /admin/login/?next=/softphone/%3Ftoken%3Dabc", "GET /admin/login/?next=/softphone/%3Ftoken%3D***"),
    ("Authorization: Bearer eyJ0.abc", "Authorization: Bearer ***"),
    ("headers {'authorization': 'Api-Key Q3vXyz'}", "headers {'authorization': 'Api-Key ***'}"),
    ('frame {"type": "auth", "token": "eyJ0:x"}', 'frame {"type": "auth", "token": "***"}'),
    ("GET /demo/?extension=1001 200", "GET /demo/?extension=1001 200"),
])
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_filter_redacts_arguments_and_tracebacks() -> None:
    try:
        raise ValueError("bad url /ws/webphone/?token=s3cret")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "frame %s", ({"token": "s3cret"},), sys.exc_info())
    assert RedactTokens().filter(record) is True
    text = logging.Formatter().format(record)
    assert "s3cret" not in text and "token=***" in text and "'token': '***'" in text
