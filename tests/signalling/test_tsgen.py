"""The TypeScript copy of the protocol tables must match the Python ones."""

from zorio_widget.signalling import tsgen


def test_committed_typescript_copy_is_current() -> None:
    assert tsgen.TARGET.read_text() == tsgen.render(), "run: python -m zorio_widget.signalling.tsgen"
