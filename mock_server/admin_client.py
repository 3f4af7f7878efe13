"""A client of the mock's admin API, for a mock running in another process.

``MockSegmind`` offers the same calls in process; this is for a mock that a test did not start
itself (the local stack's, a container's): ``MockAdmin("http://127.0.0.1:4010").enqueue(...)``.
Standard library only, like the server.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any


class MockAdmin:
    """``enqueue``, ``requests``, ``reset``, ``clear_journal`` and ``credits`` over HTTP."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def enqueue(self, *entries: dict[str, Any]) -> int:
        """Queue behaviours for the next renders; the queue's length after."""
        return int(self._call("POST", "enqueue", {"responses": list(entries)})["queued"])

    def requests(self) -> list[dict[str, Any]]:
        """The journal, oldest first."""
        return list(self._call("GET", "requests")["requests"])

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def clear_journal(self) -> None:
        self._call("DELETE", "requests")

    def credits(self) -> dict[str, int]:
        return dict(self._call("GET", "credits")["credits"])

    def _call(self, method: str, route: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the caller's mock
            f"{self.url}/__admin/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310  # nosec B310 # the caller's mock URL
            document: dict[str, Any] = json.loads(answer.read() or b"{}")
            return document
