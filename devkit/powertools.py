"""Powertools' metrics made per thread, where one process stands for many Lambda instances.

On Lambda an instance serves one invocation at a time, so Powertools keeps its metric set in
one shared buffer and flushes it when the handler returns. The local stack and the
concurrency tests run many invocations at once in one process, each thread standing for an
instance of its own: sharing that buffer, one thread's flush would empty another's set while
it is being written (``SchemaValidationError: Must contain at least one metric``). With
:func:`metrics_per_thread` each thread gets its own buffer, as each instance has on AWS.
What runs is Powertools' own code, unchanged.
"""

from __future__ import annotations

import copy
import threading
from collections import UserDict, UserList
from typing import Any


class _PerThreadDict(UserDict[str, Any]):
    """A dict whose contents belong to the calling thread (each starts as a copy of ``seed``)."""

    def __init__(self, seed: dict[str, Any]) -> None:
        self._seed = copy.deepcopy(dict(seed))
        self._local = threading.local()

    @property
    def data(self) -> dict[str, Any]:
        if not hasattr(self._local, "data"):
            self._local.data = copy.deepcopy(self._seed)
        return self._local.data  # type: ignore[no-any-return]

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._local.data = value


class _PerThreadList(UserList[Any]):
    """A list whose contents belong to the calling thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def data(self) -> list[Any]:
        if not hasattr(self._local, "data"):
            self._local.data = []
        return self._local.data  # type: ignore[no-any-return]

    @data.setter
    def data(self, value: list[Any]) -> None:
        self._local.data = value


def metrics_per_thread(metrics: Any) -> None:
    """Give a Powertools ``Metrics`` object (and its EMF provider) one buffer per thread."""
    provider = metrics.provider
    buffers = {
        "metric_set": _PerThreadDict(provider.metric_set),
        "dimension_set": _PerThreadDict(provider.dimension_set),
        "metadata_set": _PerThreadDict(provider.metadata_set),
        "default_dimensions": _PerThreadDict(provider.default_dimensions),
    }
    for name, buffer in buffers.items():
        setattr(provider, name, buffer)
        setattr(metrics, name, buffer)
    provider.dimension_sets = _PerThreadList()
