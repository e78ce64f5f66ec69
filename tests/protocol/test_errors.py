"""The error catalogue: one table, every surface derived from it, nothing above it imported."""

import ast
from pathlib import Path

import pytest

from zorio_widget.protocol import errors
from zorio_widget.protocol.errors import ERRORS, PROTOCOL_ERRORS, REST_ERRORS, SDK_ERRORS, ErrorCode
from zorio_widget.protocol.messages import ProtocolError

PACKAGE_DIR = Path(errors.__file__).parent


def test_each_surface_is_the_catalogue_filtered_by_surface() -> None:
    for surface, table in (("ws", PROTOCOL_ERRORS), ("rest", REST_ERRORS), ("sdk", SDK_ERRORS)):
        assert list(table.values()) == [e for e in ERRORS if e.surface == surface]
        assert all(code == entry.code for code, entry in table.items())
    assert len(PROTOCOL_ERRORS) + len(REST_ERRORS) + len(SDK_ERRORS) == len(ERRORS)


def test_every_entry_says_what_it_means_and_what_to_do() -> None:
    for entry in ERRORS:
        assert entry.message and entry.what_to_do, entry


def test_rest_codes_and_only_they_carry_an_http_status() -> None:
    assert {code: e.http_status for code, e in REST_ERRORS.items()} == {
        "bad_request": 400, "unauthorized": 401, "token_expired": 401, "forbidden": 403, "webphone_disabled": 403,
        "not_found": 404, "method_not_allowed": 405, "invalid_state": 409, "range_not_satisfiable": 416,
        "incomplete_sip_config": 422, "rate_limited": 429, "server_error": 500, "capacity": 503,
    }
    assert all(e.http_status is None for e in (*PROTOCOL_ERRORS.values(), *SDK_ERRORS.values()))


@pytest.mark.parametrize("kwargs, problem", [
    ({"surface": "ws", "code": "Bad-Code", "message": "m", "what_to_do": "w"}, "snake_case"),
    ({"surface": "ws", "code": "x", "message": "", "what_to_do": "w"}, "needs a message"),
    ({"surface": "ws", "code": "x", "message": "m", "what_to_do": "w", "http_status": 400}, "HTTP status"),
    ({"surface": "rest", "code": "x", "message": "m", "what_to_do": "w"}, "HTTP status"),
    ({"surface": "rest", "code": "x", "message": "m", "what_to_do": "w", "http_status": 200}, "not an error status"),
])
def test_a_malformed_entry_is_refused_when_the_table_is_built(kwargs: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ErrorCode(**kwargs)


def test_protocol_errors_take_their_messages_from_the_catalogue() -> None:
    error = ProtocolError("capacity")
    assert error.message == PROTOCOL_ERRORS["capacity"].message
    assert error.as_frame() == {"type": "error", "code": "capacity", "message": PROTOCOL_ERRORS["capacity"].message}


def test_the_protocol_floor_imports_nothing_from_the_project_above_it() -> None:
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["zorio_widget.protocol"]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                inside = name == "zorio_widget" or name.startswith("zorio_widget.")
                assert not inside or name.startswith("zorio_widget.protocol"), f"{path.name} imports {name}"
