"""Unit tests: the gateway's modules with no AWS stand-in at all (no moto, no function loaded
on a deployment); whatever needs one is a functional test (tests/functional)."""

from __future__ import annotations

import pytest


@pytest.fixture
def aws() -> None:
    """Refuses: a unit test that asks for AWS belongs in tests/functional."""
    pytest.fail("a unit test needs no AWS stand-in: move this test to tests/functional")
