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

from devkit.lambda_instances import KillPlan
from devkit.offline_dns import use_offline_dns_if_asked

from .console import FunctionOutput
from .options import StackOptions, StartupError
from .provisioning import STACK_NAME
from .stack import LocalStack

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
  v2 jobs    {info["url"]}/v2/segmind-vega-rt-v1 (Segmind's SDK: base_url={info["base_url"]})
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
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter other than its default, as sam deploy's overrides (repeatable)",
    )
    crashes = parser.add_argument_group(
        "crashing job workers on purpose (SIGKILL of the instance, as for a crash test)"
    )
    crashes.add_argument(
        "--kill-workers",
        type=int,
        default=0,
        metavar="N",
        help="kill the first N job-worker invocations",
    )
    crashes.add_argument(
        "--kill-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="then kill each with probability P",
    )
    crashes.add_argument(
        "--kill-between-ms",
        default="0,1000",
        metavar="A,B",
        help="at a point drawn from A to B ms into the invocation (default 0,1000)",
    )
    crashes.add_argument("--chaos-seed", type=int, default=0, help="the draws' seed")
    args = parser.parse_args(argv)
    use_offline_dns_if_asked()
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
    if args.render_delay_ms is not None:
        overrides["render_delay_ms"] = args.render_delay_ms
    parameters = dict(item.partition("=")[::2] for item in args.parameter)
    if parameters:
        overrides["parameters"] = parameters
    if args.kill_workers or args.kill_rate:
        earliest, _, latest = args.kill_between_ms.partition(",")
        overrides["kills"] = {
            "JobWorkerFunction": KillPlan(
                first=args.kill_workers,
                rate=args.kill_rate,
                earliest=int(earliest) / 1000,
                latest=int(latest or earliest) / 1000,
                seed=args.chaos_seed,
            )
        }
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
