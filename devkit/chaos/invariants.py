"""What must hold after the chaos, however the backend failed: each broken rule, with examples."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from vegart.contract import IMAGE_SIZE
from vegart.errors import ContractError
from vegart.render.jpeg import InvalidImage, jpeg_size

from ..resources import LOCAL_DEPLOYMENT
from ..stack_process import RunningStack, aws_client
from .driver import Outcome
from .plan import REFUSALS


def _documented() -> frozenset[int]:
    """200, and the status of every error the contract defines."""
    found, pending = {200}, list(ContractError.__subclasses__())
    while pending:
        error = pending.pop()
        found.add(error.status)
        pending.extend(error.__subclasses__())
    return frozenset(found)


#: Every status the contract lets a client see.
DOCUMENTED_STATUSES = _documented()


def stored_images(stack: RunningStack) -> tuple[int, list[str]]:
    """Every object in the render cache, each read whole and checked as a 1024 x 1024 JPEG."""
    s3 = aws_client(stack, "s3")
    bucket = LOCAL_DEPLOYMENT.bucket
    problems, count = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            count += 1
            data = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            try:
                size = jpeg_size(data)
            except InvalidImage as exc:
                problems.append(f"corrupt object stored: {item['Key']} ({len(data)} bytes): {exc}")
                continue
            if size != (IMAGE_SIZE, IMAGE_SIZE):
                problems.append(f"stored object {item['Key']} is {size[0]} x {size[1]}")
    return count, problems


def check_invariants(
    outcomes: list[Outcome], credits_spent: int, stored_problems: list[str], empty_balance: int
) -> list[str]:
    """Everything that must hold however the backend failed; each broken rule, with examples."""
    found: dict[str, list[str]] = defaultdict(list)

    def note(rule: str, outcome: Outcome, detail: str) -> None:
        found[rule].append(f"#{outcome.planned.index} ({outcome.planned.kind}): {detail}")

    by_spec: dict[tuple[str, str | None, int], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        for problem in outcome.problems:
            note("answers follow the contract", outcome, problem)
        if outcome.status not in DOCUMENTED_STATUSES:
            note("documented statuses only", outcome, f"status {outcome.status}")
        expected = REFUSALS.get(outcome.planned.kind)
        if expected is not None and outcome.status != expected:
            note("the gateway's own refusals", outcome, f"{outcome.status}, not {expected}")
        if outcome.spec is not None:
            by_spec[outcome.spec].append(outcome)

    for served in by_spec.values():
        if len({o.digest for o in served}) > 1:
            note("same inputs, same pixels", served[0], f"{len(served)} answers differ")
        first_done = min(o.finished for o in served)
        for later in served:
            if later.started > first_done and later.cache != "HIT":
                note("a stored render is a cache hit", later, f"x-cache {later.cache}")

    misses = sum(1 for o in outcomes if o.status == 200 and o.cache == "MISS")
    if credits_spent != misses:
        found["one credit per rendered image"].append(
            f"{credits_spent} credits spent for {misses} answers with x-cache MISS"
        )
    if empty_balance != 0:
        found["one credit per rendered image"].append(
            f"the key with no credits ends with {empty_balance}"
        )
    found["no corrupt image stored"].extend(stored_problems)
    return [
        f"{rule}: {len(cases)} case(s), e.g. " + "; ".join(cases[:3])
        for rule, cases in found.items()
        if cases
    ]


def journal_counts(journal: list[dict[str, Any]]) -> Counter[str]:
    """The mock's own account of what the backend answered, attempt by attempt."""
    counts: Counter[str] = Counter()
    for entry in journal:
        outcome = entry.get("outcome") or {}
        if "fault" in outcome:
            counts[str(outcome["fault"])] += 1
        elif "status" in outcome:
            counts[str(outcome["status"])] += 1
        else:
            counts["unsettled"] += 1
    return counts
