"""``python -m local_stack`` (what ``make run`` runs): the gateway on 127.0.0.1, in the foreground.

Prints where everything is, with the demo key and a ready ``curl`` line, and stops everything
on Ctrl-C (or SIGTERM). ``--json`` prints one line of JSON instead, for programs that start it.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from .stack import STACK_NAME, LocalStack, StackOptions


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
    options = StackOptions.from_env(**overrides)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with LocalStack(options) as stack:
        info = stack.describe()
        print(json.dumps(info) if args.json else banner(info, options), flush=True)
        stopping.wait()
    print("stopped" if not args.json else json.dumps({"stopped": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
