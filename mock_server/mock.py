"""The mock as a test author holds it: start, stop, where it listens, and its admin calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Self

from .behaviours import parse_entry
from .rules import ROUTE
from .state import Options, State
from .transport import MockHttpServer

#: The key a mock accepts when it is given none, so that a bare ``python -m mock_server`` works.
DEFAULT_API_KEY = "sg-mock-key"


class MockSegmind:
    """A Segmind v1 look-alike on a real socket, for tests and for local runs.

    Start it on port 0 and read :attr:`url`, as with moto's ``ThreadedMotoServer``::

        with MockSegmind(credits=10) as segmind:
            requests.post(segmind.endpoint, json={...}, headers={"x-api-key": segmind.api_key})
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: tuple[str, ...] = (DEFAULT_API_KEY,),
        disabled_keys: tuple[str, ...] = (),
        credits: int = 1_000_000,
        rate_limit: int | None = None,
        retry_after: bool = False,
        latency_ms: int = 0,
        seed: int | None = None,
        verbose: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = Options(
            api_keys=tuple(api_keys) or (DEFAULT_API_KEY,),
            disabled_keys=tuple(disabled_keys),
            credits=credits,
            rate_limit=rate_limit,
            retry_after=retry_after,
            latency_ms=latency_ms,
            seed=seed,
        )
        self.state = State(self.options, clock)
        self._address = (host, port)
        self._verbose = verbose
        self._server: MockHttpServer | None = None
        self._thread: threading.Thread | None = None

    # life cycle

    def start(self) -> Self:
        """Bind and serve on a background thread; returns at once, ready for requests."""
        if self._server is not None:
            return self
        self._server = MockHttpServer(self._address, self.state, self._verbose)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"segmind-mock:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop` is called from another one."""
        if self._server is None:
            self._server = MockHttpServer(self._address, self.state, self._verbose)
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving, end hanging and kept-alive connections, and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @classmethod
    def fixture(cls, **options: Any) -> Callable[[], Iterator[MockSegmind]]:
        """A generator function to hand to ``pytest.fixture``, without importing pytest here.

        ``segmind = pytest.fixture(MockSegmind.fixture(rate_limit=5))`` in a conftest gives
        each test a fresh server.
        """

        def _fixture() -> Iterator[MockSegmind]:
            with cls(**options) as mock:
                yield mock

        return _fixture

    # where it listens

    @property
    def port(self) -> int:
        if self._server is None:
            return self._address[1]
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:4010``."""
        host = self._address[0]
        return f"http://{host if ':' not in host else f'[{host}]'}:{self.port}"

    @property
    def base_url(self) -> str:
        """What Segmind's SDK calls ``base_url``: the URL up to ``/v1``."""
        return f"{self.url}/v1"

    @property
    def endpoint(self) -> str:
        """The model's route, the URL a client posts renders to."""
        return f"{self.url}{ROUTE}"

    @property
    def api_key(self) -> str:
        """The first accepted key."""
        return self.options.api_keys[0]

    # the admin API, in process

    def enqueue(self, *entries: dict[str, Any]) -> int:
        """Script the next render answers; entries as for ``POST /__admin/enqueue``."""
        return self.state.enqueue(b for entry in entries for b in parse_entry(entry))

    def queued(self) -> list[dict[str, Any]]:
        """What is still scripted, next first (as ``GET /__admin/queue`` lists it)."""
        return self.state.queued()

    def requests(self) -> list[dict[str, Any]]:
        """The journal: every public request received, oldest first, with its outcome."""
        return self.state.journal()

    def wait_for_requests(
        self, count: int = 1, *, settled: bool = True, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """The journal once ``count`` requests have arrived (and been answered, if ``settled``).

        For tests whose client runs on another thread or in another process: wait for the
        condition instead of sleeping. :class:`TimeoutError` after ``timeout`` seconds.
        """
        journal = self.state.wait_for_journal(count, settled=settled, timeout=timeout)
        if journal is None:
            seen = self.state.journal()
            answered = sum("outcome" in entry for entry in seen)
            raise TimeoutError(
                f"the mock received {len(seen)} requests ({answered} answered) in {timeout} s; "
                f"waited for {count}{' answered' if settled else ''}"
            )
        return journal

    def reset(self) -> None:
        """Clear the queue, the journal and the rate windows, and refill the credits."""
        self.state.reset()

    def clear_journal(self) -> None:
        """Forget the requests received but keep the queue, credits and rate windows."""
        self.state.clear_journal()

    def credits(self) -> dict[str, int]:
        """Each key's remaining credits."""
        return self.state.credits()
