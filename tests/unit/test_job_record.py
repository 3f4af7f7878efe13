"""A job's record: its id, and when it is stale (given up by whoever sees it)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devkit.clock import FakeClock
from tests.helpers.jobs import SUBMITTED_AT, new_job
from vegart.jobs.record import COMPLETED, CREDIT_HELD, PROCESSING, is_request_id, new_request_id


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SUBMITTED_AT)


# -- ids -------------------------------------------------------------------------------------


def test_request_ids_are_random_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_request_id(request_id) for request_id in ids)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nope",
        "6d64edd9-8082-4b04-9d5d-2fa74746128",  # one short
        "6d64edd9-8082-4b04-9d5d-2fa7474612833",  # one long
        "6D64EDD9-8082-4B04-9D5D-2FA747461283",  # not as we write them
        "6d64edd9-8082-1b04-9d5d-2fa747461283",  # version 1
        "6d64edd9-8082-4b04-9d5d-2fa747461283/status",
        "6d64edd9-8082-4b04-9d5d-2fa74746128%",
        "x" * 10_000,
    ],
)
def test_anything_else_is_not_an_id(text: str) -> None:
    assert not is_request_id(text)


# -- ends ------------------------------------------------------------------------------------


def test_a_job_is_stale_only_past_its_time_and_unheld(clock: FakeClock) -> None:
    job = new_job(clock)
    assert not job.stale(clock.now)
    assert job.stale(job.give_up_at)
    held = replace(job, status=PROCESSING, lease_expires_at=job.give_up_at + 60)
    assert not held.stale(job.give_up_at + 1)
    assert held.stale(job.give_up_at + 61)
    assert not replace(job, status=COMPLETED).stale(job.give_up_at + 1)
    assert job.credit == CREDIT_HELD
