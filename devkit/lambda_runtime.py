"""One Lambda instance of a function, as its own process: ``python -m devkit.lambda_runtime``.

The parent (:mod:`devkit.lambda_instances`) writes one JSON event a line on this process's
standard input and reads one JSON answer a line on its standard output, as Lambda's runtime
API hands an instance its invocations one at a time. Whatever the function prints (its logs,
its metrics) goes to standard error, which the parent shows as the function's output.

Arguments: the function's code directory, its handler (``app.lambda_handler``), its name and
its timeout in seconds.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from .context import LambdaContext
from .functions import load_handler
from .offline_dns import use_offline_dns_if_asked


def main(argv: list[str]) -> int:
    code_dir, handler_name, name, timeout = argv
    use_offline_dns_if_asked()
    answers = sys.stdout
    sys.stdout = sys.stderr  # the function's own printing is its log, never an answer
    handler = load_handler(Path(code_dir), handler_name)
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        event = json.loads(line)
        try:
            answer = {"answer": handler(event, LambdaContext(name, float(timeout)))}
        except Exception as exc:  # the invocation's error, as Lambda reports it
            traceback.print_exc()
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
