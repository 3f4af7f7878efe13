"""The mock stands for Segmind and must run anywhere Python does: standard library only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import mock_server

MODULES = sorted(Path(mock_server.__file__).parent.glob("*.py"))
#: What a module may import beyond the standard library: the pytest plugin, pytest (which is
#: there whenever pytest loads it, and never otherwise).
ALLOWED = {"pytest_plugin.py": {"pytest"}}


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
    assert set(foreign) <= ALLOWED.get(path.name, set())


def test_the_mock_runs_without_pytest():
    # Only the plugin imports pytest, and nothing of the mock imports the plugin.
    code = "import sys, mock_server, mock_server.__main__; print('pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
