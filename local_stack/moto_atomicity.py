"""DynamoDB's atomic conditional writes, given to moto.

DynamoDB applies a conditional write to an item atomically: of two requests racing for the
last credit or for a render lease, exactly one passes its condition. moto evaluates the
condition and then writes, in plain Python, so two threads can both pass. The local stack and
the tests stand for DynamoDB's guarantee, not moto's: this lock gives moto's item writes the
same atomicity. What runs under it is moto's own code, unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_ITEM_WRITES = threading.RLock()


def make_item_writes_atomic(set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """Serialise moto's ``put_item``, ``update_item`` and ``delete_item``.

    ``set_attribute`` is ``setattr`` for the local stack's process, or pytest's
    ``monkeypatch.setattr`` so that a test undoes it.
    """
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - a dev dependency

    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_atomic", False):
            continue

        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _ITEM_WRITES:
                return _original(self, *args, **kwargs)

        atomic._atomic = True  # type: ignore[attr-defined]
        set_attribute(DynamoDBBackend, name, atomic)
