"""A stand-in's HTTP server on a thread of the test's process, for as long as a block runs.

The dev kit's stand-ins (the webhook receiver, the SageMaker endpoint) listen on loopback,
port 0, in the process that uses them, as moto's server mode does: started for a block,
stopped with it, and gone before the next test starts its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer


@contextmanager
def serving(
    server: ThreadingHTTPServer, *, before_stop: Callable[[], None] | None = None
) -> Iterator[None]:
    """Serve ``server`` until the block ends; ``before_stop`` first releases whatever its
    handlers may be holding (a connection left hanging on purpose), so that it can stop."""
    # A stop waits for the loop's next look at its flag: every 50 ms, not the default 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        if before_stop is not None:
            before_stop()
        server.shutdown()
        server.server_close()
        thread.join()
