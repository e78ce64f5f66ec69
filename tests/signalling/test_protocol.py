"""The protocol table: every client message validates, and every kind of bad frame gets its code."""

import json

import pytest

from zorio_widget.protocol.errors import PROTOCOL_ERRORS
from zorio_widget.protocol.messages import CLIENT_MESSAGES, MAX_FRAME_BYTES, ProtocolError, parse_frame


def _minimal(msg_type: str) -> dict:
    values = {"str": "x", "int": 1, "bool": True, "object": {}}
    spec = CLIENT_MESSAGES[msg_type]
    return {"type": msg_type, **{f.name: values[f.type] for f in spec.fields if f.required}}


@pytest.mark.parametrize("msg_type", sorted(CLIENT_MESSAGES))
def test_every_client_message_accepts_its_required_fields(msg_type: str) -> None:
    frame = parse_frame(json.dumps(_minimal(msg_type)))
    assert frame.type == msg_type


@pytest.mark.parametrize("msg_type", sorted(t for t, m in CLIENT_MESSAGES.items() if any(f.required for f in m.fields)))
def test_missing_required_field_is_bad_request(msg_type: str) -> None:
    data = _minimal(msg_type)
    missing = next(f.name for f in CLIENT_MESSAGES[msg_type].fields if f.required)
    del data[missing]
    with pytest.raises(ProtocolError) as info:
        parse_frame(json.dumps(data))
    assert info.value.code == "bad_request"
    assert missing in info.value.message


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ('"text"', "invalid_json"),
        ("{}", "bad_request"),
        ('{"type": 5}', "bad_request"),
        ('{"type": "call.explode"}', "unknown_type"),
        ('{"type": "call.hangup", "call_id": 7}', "bad_request"),
        ('{"type": "call.reject", "call_id": "c1", "code": true}', "bad_request"),
        ('{"type": "call.create", "destination": "1002", "sdp": "x", "options": []}', "bad_request"),
        ('{"type": "ice.candidate", "call_id": "c", "candidate": "x", "sdp_m_line_index": "0"}', "bad_request"),
        (json.dumps({"type": "call.dtmf", "call_id": "c", "digits": "1" * 33}), "bad_request"),
        (json.dumps({"type": "ping", "pad": "x" * MAX_FRAME_BYTES}), "bad_request"),
    ],
)
def test_bad_frames_get_their_code(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_frame(raw)
    assert info.value.code == code
    assert info.value.as_frame()["type"] == "error"


def test_error_echoes_req_id_and_call_id() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_frame(json.dumps({"type": "call.hangup", "req_id": "r9", "call_id": 5}))
    assert info.value.as_frame()["req_id"] == "r9"


def test_unknown_fields_are_dropped_not_passed_on() -> None:
    frame = parse_frame(json.dumps({"type": "ping", "req_id": "a", "__class__": "boom"}))
    assert frame.data == {"type": "ping", "req_id": "a"}


def test_every_error_code_is_documented() -> None:
    for code, error in PROTOCOL_ERRORS.items():
        assert error.code == code and error.message and error.what_to_do
    with pytest.raises(AssertionError):
        ProtocolError("not_a_code")
