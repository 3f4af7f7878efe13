"""The two tiers of the suite, for tests whose size is a choice: chaos runs and fuzzers.

``make test`` runs each of them small, so that every invariant they check is checked on every
run; ``make soak`` runs them at full scale (``-m soak``). A test takes its size as a parameter
from :func:`sizes`, which marks the full one.
"""

from __future__ import annotations

from typing import Any

import pytest

#: The marker of the full-scale tier (``make soak``); ``make test`` deselects it.
SOAK = pytest.mark.soak


def sizes(small: Any, full: Any, unit: str) -> list[Any]:
    """``small`` for ``make test`` and ``full`` for ``make soak``, as pytest parameters whose
    ids say how big they are (``200-requests``)."""
    return [
        pytest.param(small, id=f"{_count(small)}-{unit}"),
        pytest.param(full, id=f"{_count(full)}-{unit}", marks=SOAK),
    ]


def _count(size: Any) -> int:
    return int(getattr(size, "count", size))
