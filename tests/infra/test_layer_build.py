"""The shared layer's dependencies install for the function's runtime: CPython 3.13 on arm64.

This is what ``sam build`` does for the layer (BuildMethod python3.13, BuildArchitecture
arm64), minus the container: pip picks manylinux aarch64 wheels for 3.13 whatever Python runs
the test, and fails if some dependency has no such wheel. It uses PyPI (or pip's cache).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "layers" / "shared" / "requirements.txt"
#: Lambda's limit on a function and all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024


@pytest.fixture(scope="module")
def layer_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("layer") / "python"
    command = [
        sys.executable, "-m", "pip", "install",
        "--disable-pip-version-check", "--no-input", "--quiet",
        "--target", str(target),
        "--platform", "manylinux2014_aarch64",
        "--implementation", "cp",
        "--python-version", "3.13",
        "--only-binary=:all:",
        "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return target


@pytest.mark.timeout(300)
def test_layer_dependencies_install_for_arm64_python313(layer_site: Path) -> None:
    for package in ("aws_lambda_powertools", "requests", "aws_xray_sdk"):
        assert (layer_site / package / "__init__.py").is_file(), package


@pytest.mark.timeout(300)
def test_native_extensions_are_for_the_lambda_platform(layer_site: Path) -> None:
    extensions = list(layer_site.rglob("*.so"))
    wrong = [
        str(path.relative_to(layer_site))
        for path in extensions
        if not (path.name.endswith(".abi3.so") or "cpython-313-aarch64-linux-gnu" in path.name)
    ]
    assert not wrong, wrong


@pytest.mark.timeout(300)
def test_layer_fits_in_lambda(layer_site: Path) -> None:
    size = sum(path.stat().st_size for path in layer_site.rglob("*") if path.is_file())
    assert size < LAMBDA_UNZIPPED_LIMIT_BYTES
