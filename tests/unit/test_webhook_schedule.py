"""The webhook sender's retry schedule: soon at first, an hour and more in all, within SQS."""

from __future__ import annotations

from vegart.webhooks.sender import RETRY_SCHEDULE_SECONDS


def test_the_schedule_retries_for_at_least_an_hour_soon_at_first() -> None:
    assert sum(RETRY_SCHEDULE_SECONDS) >= 3600
    assert RETRY_SCHEDULE_SECONDS[0] <= 10
    assert list(RETRY_SCHEDULE_SECONDS) == sorted(RETRY_SCHEDULE_SECONDS)
    assert max(RETRY_SCHEDULE_SECONDS) <= 12 * 3600  # SQS's longest visibility timeout
