"""The README's pytest example for test authors runs as written, with the plugin as installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(language: str, containing: str) -> str:
    """The README's code block in ``language`` that holds ``containing``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (block,) = [block for block in blocks if containing in block]
    return block


def test_the_readme_example_passes_with_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme=readme_block("python", "def test_client_retries_rate_limits"))
    # A pytest of its own, which finds the plugin through its entry point, as a user's would.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)
