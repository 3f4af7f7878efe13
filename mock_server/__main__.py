"""``python -m mock_server``: run the Segmind mock in the foreground.

The first line printed is the URL it listens on, so that a script can start it on port 0 and
read where it went. SIGINT and SIGTERM stop it cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .mock import DEFAULT_API_KEY, MockSegmind


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mock_server",
        description="A local stand-in for Segmind's POST /v1/segmind-vega-rt-v1.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"an accepted key, repeatable (default: {DEFAULT_API_KEY})",
    )
    parser.add_argument(
        "--disabled-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a known but disabled key (answered 403), repeatable",
    )
    parser.add_argument(
        "--credits", type=int, default=1_000_000, help="credits each key starts with"
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="requests per minute per key (default: unlimited)",
    )
    parser.add_argument(
        "--retry-after",
        action="store_true",
        help="add Retry-After to 429s (Segmind itself does not)",
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="render delay; Segmind takes about 1700 ms"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="fix every random choice (picked seeds, request ids)"
    )
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    mock = MockSegmind(
        host=args.host,
        port=args.port,
        api_keys=tuple(args.api_key) or (DEFAULT_API_KEY,),
        disabled_keys=tuple(args.disabled_key),
        credits=args.credits,
        rate_limit=args.rate_limit,
        retry_after=args.retry_after,
        latency_ms=args.latency_ms,
        seed=args.seed,
        verbose=args.verbose,
    )
    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stopped.set()

    # Before the URL is printed: a script that reads it and signals at once must find the
    # handlers in place, or SIGTERM kills the process with status -15 instead of a clean 0.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    mock.start()
    print(mock.url, flush=True)
    print(
        f"segmind-mock: POST {mock.endpoint} with x-api-key: {mock.api_key}",
        file=sys.stderr,
        flush=True,
    )
    stopped.wait()
    mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
