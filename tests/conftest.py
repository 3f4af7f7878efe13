"""Fixtures shared by every test: a deployment's environment, AWS in moto, and a context.

The environment is set when this module is imported, before any test imports a function, so
that code reading settings at import time sees the test deployment and never a real account.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devkit.context import LambdaContext, still_context
from devkit.demo import DEMO_LABEL
from devkit.deployment import SEGMIND_TEST_KEY, TEST_DEPLOYMENT
from devkit.events import CLIENT_KEY
from devkit.functions import unload_functions
from devkit.moto import (
    add_key,
    create_deployment_resources,
    in_process_aws,
    key_store,
    make_item_writes_atomic,
)
from devkit.offline_dns import use_offline_dns
from devkit.powertools import metrics_per_thread
from tests.helpers.deployment import CLIENT_CREDITS, TEST_ENV
from vegart.keys import KeyStore

os.environ.update(TEST_ENV)
# Tests run many invocations at once, each thread standing for a Lambda instance of its own.
# (Imported only now: Powertools reads its namespace from the environment just set.)
from vegart import observability

metrics_per_thread(observability.metrics)
# No test sends a DNS query: a webhook's host is resolved offline (devkit.offline_dns).
use_offline_dns()
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_proxy, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


#: Folders whose tests share something a worker makes once for all of them, and so run on one
#: worker together: the model server's tests share its tiny model (and torch, a few hundred
#: megabytes a process).
_SHARED_BY_FOLDER = {"tests/sagemaker": "model-server"}


def group_of(nodeid: str) -> str:
    """The unit of work that a test goes to an xdist worker in: its folder's, for a folder of
    :data:`_SHARED_BY_FOLDER`, else its module (whose module-scoped fixtures, a checkov run or a
    ``sam build``, are then made once). A stack of the session's is one per worker."""
    module = nodeid.split("::", 1)[0]
    folder = module.rpartition("/")[0]
    return _SHARED_BY_FOLDER.get(folder, module)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` by :func:`group_of`.

    xdist's own loadgroup reads ``xdist_group`` marks by renaming each test's node id, which
    pytest 9.2's node ids no longer allow (every test ends up a group of its own); its
    scheduler groups by whatever ``_split_scope`` answers, so this one answers the group.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return GroupScheduling(config, log)


@pytest.fixture(autouse=True)
def _functions_end_with_their_test() -> Iterator[None]:
    """Every function a test loads is dropped when it ends, as Lambda retires an instance."""
    yield
    unload_functions()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in process, holding the test deployment's resources and the test client's key."""
    make_item_writes_atomic(monkeypatch.setattr)
    with in_process_aws():
        resources = create_deployment_resources(TEST_DEPLOYMENT, segmind_key=SEGMIND_TEST_KEY)
        resources["keys"] = key_store(TEST_DEPLOYMENT.keys_table)
        resources["client_key_id"] = add_key(
            resources["keys"], CLIENT_KEY, CLIENT_CREDITS, label=DEMO_LABEL
        )
        yield resources


@pytest.fixture
def keys(aws: dict[str, Any]) -> KeyStore:
    """The test deployment's keys table."""
    return aws["keys"]


@pytest.fixture
def s3(aws: dict[str, Any]) -> Any:
    return boto3.client("s3")


@pytest.fixture
def context() -> LambdaContext:
    return still_context()
