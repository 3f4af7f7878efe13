"""A deployment's environment with nothing real behind it, for code that runs the functions
outside AWS: the tests and the benchmarks.

``template.yaml`` sets these variables on AWS (``vegart.config`` reads them); here they name
moto's resources, a Segmind host that does not exist (``responses`` or the mock stands in),
and Powertools' settings. Set before a function is imported, so that nothing it reads at
import time can see a real account.
"""

from __future__ import annotations

from .context import ACCOUNT_ID, REGION
from .resources import Deployment

#: The resources of the test deployment, in moto.
TEST_DEPLOYMENT = Deployment(
    bucket="vegart-test-render-cache",
    secret_id="vegart/segmind-api-key",  # nosec B106 # a name, not a secret
    keys_table="vegart-test-keys",
    leases_table="vegart-test-render-leases",
    jobs_table="vegart-test-jobs",
    job_queue="vegart-test-job-queue",
    job_dead_letter_queue="vegart-test-job-dead-letters",
    webhook_queue="vegart-test-webhook-queue",
    webhook_dead_letter_queue="vegart-test-webhook-dead-letters",
)
#: A Segmind base URL that resolves nowhere: a test that forgets its stand-in fails loudly.
UNREACHABLE_SEGMIND = "https://api.segmind.test/v1"
#: The gateway's own Segmind key, as the test deployment's secret holds it.
SEGMIND_TEST_KEY = "sg-gateway-test-key"


def function_env(deployment: Deployment = TEST_DEPLOYMENT, **overrides: str) -> dict[str, str]:
    """The environment a render or authorizer function reads, for ``deployment``."""
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105 # moto's dummy credentials
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "vegart-gateway",
        "POWERTOOLS_METRICS_NAMESPACE": "VegaRT",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
        "VEGART_BACKEND": "segmind",
        "SEGMIND_BASE_URL": UNREACHABLE_SEGMIND,
        "SEGMIND_SECRET_ID": deployment.secret_id,
        "CACHE_BUCKET": deployment.bucket,
        "KEYS_TABLE": deployment.keys_table,
        "LEASES_TABLE": deployment.leases_table,
        "JOBS_TABLE": deployment.jobs_table,
        # moto's queue URLs are known before the queue exists: the functions read this first.
        "JOB_QUEUE_URL": queue_url(deployment.job_queue),
        "JOB_DEAD_LETTER_QUEUE_URL": queue_url(deployment.job_dead_letter_queue),
        "WEBHOOK_QUEUE_URL": queue_url(deployment.webhook_queue),
        # The deployed default, room for a busy machine: no unit test waits for it (a hang is
        # the contract tests' own, with a deadline of their own).
        "REQUEST_DEADLINE_SECONDS": "25",
        "ALLOWED_ORIGINS": "*",
    }
    env.update(overrides)
    return env


def queue_url(name: str) -> str:
    """The URL moto (in process) gives the queue ``name``."""
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
