"""The TypeScript copies of the Python tables (frontend/src/generated/) must match the Python ones."""

import json
import re

import pytest

from zorio_widget.protocol.errors import PROTOCOL_ERRORS, REST_ERRORS, SDK_ERRORS
from zorio_widget.protocol.messages import SERVER_MESSAGES
from zorio_widget.signalling import tsgen


@pytest.mark.parametrize("path", list(tsgen.OUTPUTS), ids=lambda p: p.name)
def test_committed_typescript_copy_is_current(path) -> None:
    assert path.read_text() == tsgen.OUTPUTS[path](), "run: python -m zorio_widget.signalling.tsgen"


def test_check_mode_reports_drift(tmp_path, monkeypatch, capsys) -> None:
    stale = tmp_path / "protocol.ts"
    stale.write_text("// old\n")
    monkeypatch.setattr(tsgen, "OUTPUTS", {stale: tsgen.render_protocol})
    assert tsgen.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert tsgen.main([]) == 0 and tsgen.main(["--check"]) == 0


def _const(text: str, name: str) -> dict:
    """A generated `export const NAME = {...} as const;` object, read back as JSON."""
    match = re.search(rf"export const {name} = (\{{.*?\n\}}) as const;", text, re.S)
    assert match, name
    body = re.sub(r",\n\}$", "\n}", match.group(1))
    return json.loads(body)


def test_the_error_catalogue_reaches_typescript_whole() -> None:
    text = tsgen.render_errors()
    assert _const(text, "REST_ERRORS") == {
        c: {"status": e.http_status, "message": e.message, "what_to_do": e.what_to_do} for c, e in REST_ERRORS.items()}
    assert _const(text, "PROTOCOL_ERRORS") == {
        c: {"message": e.message, "what_to_do": e.what_to_do} for c, e in PROTOCOL_ERRORS.items()}
    assert _const(text, "SDK_ERRORS") == {
        c: {"message": e.message, "what_to_do": e.what_to_do} for c, e in SDK_ERRORS.items()}
    assert 'export const SDK_CODES_FROM_REST = ["webphone_disabled", "incomplete_sip_config"] as const;' in text


def test_every_server_message_has_a_type_and_a_field_table() -> None:
    text = tsgen.render_protocol()
    for msg in SERVER_MESSAGES.values():
        assert f'type: "{msg.type}";' in text
        assert f"  {json.dumps(msg.type)}: {{" in text
    # nullable server fields may be absent: the server omits None values
    assert '"sdp_mid": "str?|null"' in text
    assert "  sdp_mid?: string | null;" in text


def test_public_unions_list_every_code() -> None:
    text = tsgen.render_public_types()
    assert all(json.dumps(code) in text.split("ProtocolErrorCode =")[1] for code in PROTOCOL_ERRORS)
    assert '"server_error"' in text.split("ProtocolErrorCode =")[1]
