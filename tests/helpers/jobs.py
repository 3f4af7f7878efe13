"""A v2 job's record as a test makes one: a decided spec, and a queued job at a clock's time."""

from __future__ import annotations

from devkit.clock import FakeClock
from devkit.events import CLIENT_KEY_ID
from vegart.jobs.record import QUEUED, Job, new_request_id
from vegart.render.spec import RenderSpec, cache_key

SPEC = RenderSpec("segmind", "segmind-vega-rt-v1", "a fox in the snow", 7, 4, 1024, 1024)
#: When a test's jobs are submitted: a fixed time, which each test moves on by hand.
SUBMITTED_AT = 1_800_000_000.0


def new_job(clock: FakeClock, key_id: str = CLIENT_KEY_ID) -> Job:
    """A job as a submit writes it, now by ``clock``: queued, given up 900 s later."""
    return Job(
        request_id=new_request_id(),
        key_id=key_id,
        status=QUEUED,
        spec=SPEC,
        render_key=cache_key(SPEC),
        created_at=clock.now,
        updated_at=clock.now,
        give_up_at=clock.now + 900,
    )
