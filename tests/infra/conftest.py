"""The infrastructure tests' fixtures: the SAM template as written and as the SAM translator
expands it (``tests.helpers.template`` says how)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.template import REGION, load_template, translate


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def translated(sam_template: dict[str, Any]) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        return translate(sam_template)


@pytest.fixture(scope="session")
def translate_with():
    """Translate again with some parameter values (for wiring checks)."""

    def run(**parameters: Any) -> dict[str, Any]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_DEFAULT_REGION", REGION)
            return translate(load_template(), parameters)

    return run
