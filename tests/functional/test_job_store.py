"""The jobs table's writes: each change of a job is one conditional write, and its credit moves
with it in the same transaction, so that no race, retry or crash charges twice or never."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest

from devkit.clock import FakeClock
from devkit.events import CLIENT_KEY_ID
from tests.helpers.deployment import CLIENT_CREDITS, credits
from tests.helpers.jobs import SUBMITTED_AT, new_job
from vegart.credits import CreditLedger
from vegart.errors import ContractError
from vegart.jobs.record import (
    COMPLETED,
    CREDIT_RETURNED,
    CREDIT_SPENT,
    CREDIT_VOID,
    FAILED,
    PROCESSING,
    RECORD_RETENTION_SECONDS,
)
from vegart.jobs.store import JobStore
from vegart.keys import DISABLED, KeyStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SUBMITTED_AT)


@pytest.fixture
def store(aws: dict[str, Any], clock: FakeClock) -> JobStore:
    client = boto3.client("dynamodb")
    ledger = CreditLedger(aws["keys_table"], lambda: client)
    return JobStore(aws["jobs_table"], lambda: client, ledger, clock=clock)


def job_count(aws: dict[str, Any]) -> int:
    return int(boto3.client("dynamodb").scan(TableName=aws["jobs_table"])["Count"])


# -- ids -------------------------------------------------------------------------------------


# -- submit ----------------------------------------------------------------------------------


def test_a_submit_writes_the_job_and_holds_its_credit(
    store: JobStore, clock: FakeClock, keys: KeyStore
) -> None:
    job = new_job(clock)
    store.submit(job)
    assert store.get(job.request_id) == job
    assert credits(keys) == CLIENT_CREDITS - 1


@pytest.mark.parametrize(
    ("change", "status"),
    [({"credits": 0}, 406), ({"status": DISABLED}, 403)],
    ids=["no credits", "disabled"],
)
def test_a_refused_hold_writes_no_job(
    store: JobStore,
    clock: FakeClock,
    keys: KeyStore,
    aws: dict[str, Any],
    change: dict[str, Any],
    status: int,
) -> None:
    keys.update(CLIENT_KEY_ID, **change)
    with pytest.raises(ContractError) as refused:
        store.submit(new_job(clock))
    assert refused.value.status == status
    assert job_count(aws) == 0


def test_a_key_that_does_not_exist_writes_no_job(
    store: JobStore, clock: FakeClock, aws: dict[str, Any]
) -> None:
    with pytest.raises(ContractError) as refused:
        store.submit(new_job(clock, key_id="0" * 64))
    assert refused.value.status == 401
    assert job_count(aws) == 0


def test_the_job_store_down_is_a_500_and_charges_nothing(
    store: JobStore, clock: FakeClock, keys: KeyStore, aws: dict[str, Any]
) -> None:
    boto3.client("dynamodb").delete_table(TableName=aws["jobs_table"])
    with pytest.raises(ContractError) as failed:
        store.submit(new_job(clock))
    assert failed.value.status == 500
    assert credits(keys) == CLIENT_CREDITS


def test_a_record_round_trips(store: JobStore, clock: FakeClock) -> None:
    job = replace(
        new_job(clock),
        status=COMPLETED,
        credit="none",
        cache_hit=True,
        completed_at=clock.now + 1,
    )
    store.put_completed(job)
    assert store.get(job.request_id) == job


# -- a worker's claim ------------------------------------------------------------------------


def test_one_claim_at_a_time(store: JobStore, clock: FakeClock) -> None:
    job = new_job(clock)
    store.submit(job)
    first = store.claim(job, 30)
    assert first is not None
    assert first.status == PROCESSING
    assert first.attempts == 1
    assert store.claim(job, 30) is None  # a duplicate delivery, while the first works


def test_a_claim_whose_lease_ran_out_is_taken_over(store: JobStore, clock: FakeClock) -> None:
    job = new_job(clock)
    store.submit(job)
    crashed = store.claim(job, 30)
    assert crashed is not None
    clock.now += 31
    successor = store.claim(job, 30)
    assert successor is not None
    assert successor.attempts == 2
    # The crashed worker, should it come back, can no longer end the job.
    assert not store.complete(crashed, cache_hit=False)
    assert store.complete(successor, cache_hit=False)


def test_a_released_claim_can_be_taken_at_once(store: JobStore, clock: FakeClock) -> None:
    job = new_job(clock)
    store.submit(job)
    claimed = store.claim(job, 30)
    assert claimed is not None
    store.release(claimed)
    assert store.claim(job, 30) is not None


# -- ends ------------------------------------------------------------------------------------


def test_a_rendered_job_spends_its_credit(
    store: JobStore, clock: FakeClock, keys: KeyStore
) -> None:
    job = new_job(clock)
    store.submit(job)
    claimed = store.claim(job, 30)
    assert claimed is not None
    clock.now += 2
    assert store.complete(claimed, cache_hit=False)
    done = store.get(job.request_id)
    assert done is not None
    assert (done.status, done.cache_hit, done.credit) == (COMPLETED, False, CREDIT_SPENT)
    assert done.completed_at == clock.now
    assert credits(keys) == CLIENT_CREDITS - 1


def test_a_job_found_in_the_cache_gives_its_credit_back(
    store: JobStore, clock: FakeClock, keys: KeyStore
) -> None:
    job = new_job(clock)
    store.submit(job)
    claimed = store.claim(job, 30)
    assert claimed is not None
    assert store.complete(claimed, cache_hit=True)
    done = store.get(job.request_id)
    assert done is not None
    assert (done.cache_hit, done.credit) == (True, CREDIT_RETURNED)
    assert credits(keys) == CLIENT_CREDITS


def test_a_failed_job_gives_its_credit_back_once(
    store: JobStore, clock: FakeClock, keys: KeyStore
) -> None:
    job = new_job(clock)
    store.submit(job)
    claimed = store.claim(job, 30)
    assert claimed is not None
    assert store.fail(claimed, "The render backend failed; please try again", 502)
    assert not store.fail(claimed, "again", 502)  # a redelivery: nothing moves twice
    done = store.get(job.request_id)
    assert done is not None
    assert (done.status, done.error, done.error_status) == (
        FAILED,
        "The render backend failed; please try again",
        502,
    )
    assert done.credit == CREDIT_RETURNED
    assert credits(keys) == CLIENT_CREDITS


def test_an_ended_job_cannot_end_again(store: JobStore, clock: FakeClock, keys: KeyStore) -> None:
    job = new_job(clock)
    store.submit(job)
    claimed = store.claim(job, 30)
    assert claimed is not None
    assert store.complete(claimed, cache_hit=False)
    assert not store.fail(claimed, "late", 504)
    assert not store.give_up(store.get(job.request_id) or job, "late", 504)
    assert credits(keys) == CLIENT_CREDITS - 1


def test_giving_up_waits_for_a_live_claim(
    store: JobStore, clock: FakeClock, keys: KeyStore
) -> None:
    job = new_job(clock)
    store.submit(job)
    claimed = store.claim(job, 30)
    assert claimed is not None
    seen = store.get(job.request_id)
    assert seen is not None
    assert not store.give_up(seen, "The render did not finish in time", 504)
    clock.now += 31
    assert store.give_up(seen, "The render did not finish in time", 504)
    assert credits(keys) == CLIENT_CREDITS
    assert not store.complete(claimed, cache_hit=False)  # the slow worker lost its job


def test_a_queued_job_can_be_given_up(store: JobStore, clock: FakeClock, keys: KeyStore) -> None:
    job = new_job(clock)
    store.submit(job)
    assert store.give_up(job, "The render could not be completed", 500)
    assert credits(keys) == CLIENT_CREDITS
    assert store.claim(job, 30) is None  # a late delivery finds it ended


def test_a_deleted_keys_job_still_ends(
    store: JobStore, clock: FakeClock, keys: KeyStore, aws: dict[str, Any]
) -> None:
    job = new_job(clock)
    store.submit(job)
    boto3.client("dynamodb").delete_item(
        TableName=aws["keys_table"], Key={"key_id": {"S": CLIENT_KEY_ID}}
    )
    assert store.give_up(job, "The render could not be completed", 500)
    done = store.get(job.request_id)
    assert done is not None
    assert (done.status, done.credit) == (FAILED, CREDIT_VOID)
    assert keys.get(CLIENT_KEY_ID) is None  # no refund brought back a key without a record


def test_records_stay_a_day_after_their_job_ends(store: JobStore, clock: FakeClock) -> None:
    job = new_job(clock)
    store.submit(job)
    claimed = store.claim(job, 30)
    assert claimed is not None
    clock.now += 10
    store.complete(claimed, cache_hit=False)
    item = boto3.client("dynamodb").get_item(
        TableName=store.table, Key={"request_id": {"S": job.request_id}}
    )["Item"]
    assert int(item["expires_at"]["N"]) == int(clock.now + RECORD_RETENTION_SECONDS)
    assert RECORD_RETENTION_SECONDS >= 3600  # the contract's hour, at least
