"""The test deployment: its environment, and the test client key's credits.

``tests/conftest.py`` sets :data:`TEST_ENV` in the process before any function is imported.
"""

from __future__ import annotations

from devkit.deployment import function_env
from devkit.events import CLIENT_KEY_ID
from vegart.keys import KeyStore

#: The functions' environment in tests: the test deployment's names, no real account.
TEST_ENV = function_env()
#: The credits the test client key starts with: enough that no test runs out by accident.
CLIENT_CREDITS = 1000


def credits(keys: KeyStore, key_id: str = CLIENT_KEY_ID) -> int:
    """A key's balance now (the test client's unless told)."""
    return keys.require(key_id).credits
