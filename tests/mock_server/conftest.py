"""Fixtures for the Segmind mock's own tests: real HTTP on loopback, nothing patched.

One server serves the whole session and is reset before each test that asks for ``segmind``
(moto's way: starting a server costs a thread and a port, resetting it costs nothing).
Tests that need other options (few credits, a rate limit, a fake clock) build their own with
``make_mock``, which stops whatever it started.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from mock_server import MockSegmind
from mock_server.contract import MESSAGES

DISABLED_KEY = "sg-disabled-key"
OTHER_KEY = "sg-other-key"
PROMPT = "a lighthouse at dusk"


class FakeClock:
    """A clock that moves only when a test says so, for rate windows without sleeping."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Segmind:
    """A running mock with the calls every test makes: post a render, check an error."""

    prompt = PROMPT
    other_key = OTHER_KEY
    disabled_key = DISABLED_KEY

    def __init__(self, mock: MockSegmind) -> None:
        self.mock = mock
        self.http = requests.Session()

    def render(
        self,
        body: Any = None,
        *,
        key: str | None = "default",
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
        **fields: Any,
    ) -> requests.Response:
        """POST a render. ``body`` wins over ``fields``; bytes are sent as they are.

        ``key="default"`` sends the mock's first key, ``None`` sends no key at all.
        """
        if body is None:
            body = {"prompt": PROMPT, "seed": 7, **fields}
        sent = dict(headers or {})
        if key is not None:
            sent["x-api-key"] = self.mock.api_key if key == "default" else key
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
        return self.http.post(self.mock.endpoint, data=data, headers=sent, timeout=timeout)

    def admin(self, method: str, route: str, **kwargs: Any) -> requests.Response:
        """Call the admin API over HTTP, as a test in another process would."""
        return self.http.request(method, f"{self.mock.url}/__admin/{route}", timeout=30, **kwargs)

    @staticmethod
    def assert_error(
        response: requests.Response,
        status: int,
        message: str | None = None,
        *,
        mentions: str | None = None,
    ) -> str:
        """Check Segmind's error shape and return the message.

        ``message`` is the exact text (default: the mock's message for ``status``);
        ``mentions`` only asks that the text names something, such as a field.
        """
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"error"}
        text = body["error"]
        assert isinstance(text, str)
        assert text
        if mentions is not None:
            assert mentions in text
        elif message is not None or status in MESSAGES:
            assert text == (message or MESSAGES[status])
        return text


@pytest.fixture(scope="session")
def shared_mock() -> Iterator[MockSegmind]:
    with MockSegmind(
        api_keys=("sg-mock-key", OTHER_KEY), disabled_keys=(DISABLED_KEY,), seed=1234
    ) as mock:
        yield mock


@pytest.fixture
def segmind(shared_mock: MockSegmind) -> Iterator[Segmind]:
    """The session's mock, reset: empty queue and journal, full credits, fresh windows."""
    shared_mock.reset()
    client = Segmind(shared_mock)
    yield client
    client.http.close()


@pytest.fixture
def make_mock() -> Iterator[Callable[..., Segmind]]:
    """Start a mock with other options; every one started is stopped after the test."""
    started: list[Segmind] = []

    def _make(**options: Any) -> Segmind:
        client = Segmind(MockSegmind(**options).start())
        started.append(client)
        return client

    yield _make
    for client in started:
        client.http.close()
        client.mock.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
