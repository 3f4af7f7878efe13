"""Cost model: what 1,000 images cost as a cache hit, a Segmind render and a GPU render.

    .venv/bin/python benchmarks/cost_model.py            # print the tables (Markdown)
    .venv/bin/python benchmarks/cost_model.py --write    # and rewrite them in docs/cost.md
    .venv/bin/python benchmarks/cost_model.py --check    # exit 1 if docs/cost.md is stale

It reads the dated list prices (``benchmarks/cost_inputs/prices.json``), the benchmarks'
measured figures (``benchmarks/results/*.json``, from their ``--json`` option), the estimates
that stand in for what is not measured yet (``benchmarks/cost_inputs/estimates.json``) and
``template.yaml``. Rerun it after any of them changes; ``benchmarks/costs/`` holds the
arithmetic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from costs.document import DOC_PATH, render_markdown, replace_generated
from costs.inputs import ESTIMATES_PATH, PRICES_PATH, RESULTS_DIR, load_inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--prices", type=Path, default=PRICES_PATH, help="list prices (JSON)")
    parser.add_argument("--estimates", type=Path, default=ESTIMATES_PATH, help="estimates (JSON)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="benchmark results")
    parser.add_argument("--doc", type=Path, default=DOC_PATH, help="the document to update")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the doc's tables")
    action.add_argument("--check", action="store_true", help="fail if the doc's tables differ")
    args = parser.parse_args(argv)
    generated = render_markdown(load_inputs(args.prices, args.estimates, args.results))
    if not (args.write or args.check):
        print(generated, end="")
        return 0
    current = args.doc.read_text()
    updated = replace_generated(current, generated)
    if args.check:
        if updated != current:
            print(f"{args.doc} is stale: run .venv/bin/python benchmarks/cost_model.py --write")
            return 1
        return 0
    args.doc.write_text(updated)
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
