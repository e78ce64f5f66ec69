"""The import contracts (.importlinter, run by `make lint`) catch an arrow upward or a circle.

Each case adds one import to a copy of the package and runs `lint-imports` on the copy: the
contract it breaks must name that very import (or module), so the contracts are shown to bite.
"""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("floors")
    shutil.copytree(ROOT / "zorio_widget", copy / "zorio_widget",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "node_modules"))
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


@pytest.fixture
def edit(tree: Path) -> Iterator[object]:
    """Appends a line to a module of the copy (or creates one) for one test, then restores it."""
    saved: dict[Path, str | None] = {}
    made: list[Path] = []

    def add(module: str, line: str) -> None:
        path = tree / module
        if not path.parent.exists():
            path.parent.mkdir()
            made.append(path.parent)
        if path not in saved:
            saved[path] = path.read_text() if path.exists() else None
        path.write_text((saved[path] or "") + "\n" + line + "\n")

    yield add
    for path, text in saved.items():
        if text is None:
            path.unlink()
        else:
            path.write_text(text)
    for folder in made:
        folder.rmdir()


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize(("module", "line", "reported"), [
    ("zorio_widget/calls/states.py", "from zorio_widget.signalling import consumer",
     "zorio_widget.calls.states -> zorio_widget.signalling.consumer"),
    ("zorio_widget/protocol/messages.py", "from zorio_widget.calls import states",
     "zorio_widget.protocol.messages -> zorio_widget.calls.states"),
    ("zorio_widget/media/capacity.py", "from zorio_widget.calls import legs",
     "zorio_widget.media.capacity -> zorio_widget.calls.legs"),
    ("zorio_widget/unplaced/__init__.py", "from zorio_widget.calls import session",
     "zorio_widget.unplaced"),
    ("zorio_widget/calls/switchboard.py", "from zorio_widget.cluster import router",
     "zorio_widget.calls.switchboard -> zorio_widget.cluster.router"),
    ("zorio_widget/cluster/node.py", "from zorio_widget.signalling import consumer",
     "zorio_widget.cluster.node -> zorio_widget.signalling.consumer"),
], ids=["calls-imports-signalling", "protocol-imports-calls", "media-imports-calls", "a-package-without-a-floor",
        "calls-imports-cluster", "cluster-imports-signalling"])
def test_an_arrow_upward_or_an_unplaced_package_is_refused(tree: Path, edit, module: str, line: str,
                                                          reported: str) -> None:
    edit(module, line)
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    assert "Floors import only downward BROKEN" in result.stdout
    assert reported in result.stdout, result.stdout


def test_the_edges_do_not_import_each_other(tree: Path, edit) -> None:
    edit("zorio_widget/signalling/ratelimit.py", "from zorio_widget.api import errors")
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    assert "The edges do not import each other BROKEN" in result.stdout
    assert "zorio_widget.signalling.ratelimit -> zorio_widget.api.errors" in result.stdout, result.stdout


@pytest.mark.parametrize(("module", "line", "reported"), [
    ("zorio_widget/calls/session.py", "if TYPE_CHECKING:\n    from zorio_widget.calls import switchboard",
     "zorio_widget.calls.session -> zorio_widget.calls.switchboard"),
    ("zorio_widget/calls/controls.py", "from zorio_widget.calls import transfer",
     "zorio_widget.calls.controls -> zorio_widget.calls.transfer"),
    ("zorio_widget/calls/trunks.py", "from zorio_widget.calls import session",
     "zorio_widget.calls.trunks"),
], ids=["a-type-checking-import-up", "a-circle", "a-module-without-a-floor"])
def test_the_call_layer_has_floors_of_its_own(tree: Path, edit, module: str, line: str, reported: str) -> None:
    if "TYPE_CHECKING" in line:
        edit(module, "from typing import TYPE_CHECKING")
    edit(module, line)
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    assert "The call layer's modules import only downward (no circles) BROKEN" in result.stdout
    assert reported in result.stdout, result.stdout
