"""The README's pytest example for test authors runs as written, with the plugin as installed."""

from __future__ import annotations

import pytest

from tests.helpers.readme import readme_block


def test_the_readme_example_passes_with_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme=readme_block("python", "def test_client_retries_rate_limits"))
    # A pytest of its own, which finds the plugin through its entry point, as a user's would.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)
