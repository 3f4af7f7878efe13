"""A pytest plugin: a ready Segmind mock for every test, reset in between.

Installed with the ``segmind-mock`` distribution, it is found by pytest on its own (the
``pytest11`` entry point), the way moto's and pytest-httpserver's fixtures are::

    def test_my_client_retries(segmind_mock):
        segmind_mock.enqueue({"status": 502}, {"status": 200})
        assert my_client(base_url=segmind_mock.base_url, api_key=segmind_mock.api_key).run()

One server listens on a free port for the whole session; each test gets it reset (empty queue
and journal, full credits, fresh rate windows, no jobs). A test that needs other options
says so with a marker and gets a server of its own, stopped after it::

    @pytest.mark.segmind_mock(credits=1, latency_ms=200)
    def test_my_client_reports_insufficient_credits(segmind_mock): ...

This is the only module of the mock that imports anything outside the standard library:
pytest, which is there whenever it is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .mock import MockSegmind

MARKER = "segmind_mock"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): give this test a Segmind mock with these options"
    )


@pytest.fixture(scope="session")
def segmind_mock_server() -> Iterator[MockSegmind]:
    """The session's mock, with the default options (key ``sg-mock-key``, no latency)."""
    with MockSegmind() as server:
        yield server


@pytest.fixture
def segmind_mock(request: pytest.FixtureRequest) -> Iterator[MockSegmind]:
    """A running mock for this test: the session's, reset, or one of its own if marked."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        with MockSegmind(**marker.kwargs) as own:
            yield own
        return
    shared: MockSegmind = request.getfixturevalue("segmind_mock_server")
    shared.reset()
    yield shared
