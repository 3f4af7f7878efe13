"""``python -m local_stack`` (what ``make run`` runs): the gateway on 127.0.0.1, in the foreground.

Prints where everything is, with the demo key and a ready ``curl`` line, then one access line
a request (``VEGART_VERBOSE=1`` adds the functions' structured logs and metrics), and stops
everything on Ctrl-C (or SIGTERM). ``--json`` prints one line of JSON first instead of the
banner, for programs that start it. A start-up mistake ends with one line that says what to
change, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import warnings
from typing import Any

from .console import FunctionOutput
from .stack import STACK_NAME, LocalStack, StackOptions, StartupError

#: The exit status of a start-up mistake, as for a command-line usage error.
USAGE = 2


def banner(info: dict[str, Any], options: StackOptions) -> str:
    backend = {
        "mock": f"mock Segmind at {info['mock_url']} ({options.render_delay_ms} ms a render)",
        "segmind": "the real Segmind API (SEGMIND_API_KEY)",
        "sagemaker": f"the VegaRT model server at {options.sagemaker_url} (SAGEMAKER_LOCAL_URL)",
    }[info["backend"]]
    return f"""
VegaRT Gateway, local stack
  API        {info["render_url"]}
  demo page  {info["url"]}/
  key        {info["api_key"]}
  backend    {backend}
  AWS (moto) {info["aws_url"]}

Try it:
  curl -sS -X POST {info["render_url"]} \\
    -H "x-api-key: {info["api_key"]}" -H "Content-Type: application/json" \\
    -d '{{"prompt": "a lighthouse at dawn, watercolor", "seed": 42}}' -o render.jpg -D -

Keys: .venv/bin/vegart-admin --stack {STACK_NAME} --endpoint-url {info["aws_url"]} keys list
Ctrl-C stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    parser.add_argument("--port", type=int, help="API port (default: $VEGART_PORT or 3000)")
    parser.add_argument("--render-delay-ms", type=int, help="mock render time (default 1700)")
    parser.add_argument("--json", action="store_true", help="print one JSON line when ready")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
    if args.render_delay_ms is not None:
        overrides["render_delay_ms"] = args.render_delay_ms
    verbose = os.environ.get("VEGART_VERBOSE", "").strip().lower() in {"1", "true", "yes"}
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Powertools warns once a request that a refused request published no metric: that is how
    # it should be, and says nothing to a person.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    output = FunctionOutput(sys.stdout, verbose=verbose)
    sys.stdout = output
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        options = StackOptions.from_env(**overrides)
        with LocalStack(options, access_log=lambda record: output.console(record.line())) as stack:
            info = stack.describe()
            output.console(json.dumps(info) if args.json else banner(info, options))
            stopping.wait()
    except StartupError as error:
        print(f"make run: {error}", file=sys.stderr)
        return USAGE
    output.console("stopped" if not args.json else json.dumps({"stopped": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
