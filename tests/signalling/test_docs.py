"""The README's protocol reference is generated from the protocol tables and the error catalogue and must be current."""

from zorio_widget.protocol.errors import PROTOCOL_ERRORS, REST_ERRORS, SDK_ERRORS
from zorio_widget.protocol.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from zorio_widget.signalling import docs


def test_readme_protocol_reference_is_current() -> None:
    text = docs.README.read_text()
    assert docs.updated_readme(text) == text, "run: python -m zorio_widget.signalling.docs"


def test_reference_names_every_message_and_error() -> None:
    reference = docs.render()
    for name in [*CLIENT_MESSAGES, *SERVER_MESSAGES, *PROTOCOL_ERRORS, *SDK_ERRORS]:
        assert f"`{name}`" in reference


def test_reference_lists_every_rest_code_with_its_status() -> None:
    reference = docs.render()
    for code, entry in REST_ERRORS.items():
        assert f"| `{code}` | {entry.http_status} | {entry.message} |" in reference
