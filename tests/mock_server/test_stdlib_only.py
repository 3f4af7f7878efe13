"""The mock stands for Segmind and must run anywhere Python does: standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import mock_server

MODULES = sorted(Path(mock_server.__file__).parent.glob("*.py"))


def test_every_module_the_mock_loads_is_checked():
    import mock_server.__main__  # noqa: F401 - the command line too

    loaded = {name.split(".")[1] for name in sys.modules if name.startswith("mock_server.")}
    assert loaded
    assert loaded <= {path.stem for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_module_imports_only_the_standard_library_and_its_siblings(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    foreign = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:
                continue  # a relative import stays inside mock_server
            names = [node.module or ""]
        else:
            continue
        foreign += [n for n in names if n.partition(".")[0] not in sys.stdlib_module_names]
    assert foreign == []
