"""Which deployment the tool acts on: the keys table and, when known, the API that enforces keys.

A deployment is named either by its CloudFormation stack (whose outputs name everything) or
piece by piece; pieces given explicitly win over the stack's outputs, so that an operator can
point at a copy of a table or at a second stage without editing the stack. Every AWS client is
made from one session and, when an endpoint URL is given, pointed at it, so that the tool works
unchanged against moto's server in the local stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from vegart.keys import KeyStore

from .errors import USAGE, AdminError

#: Environment variable that points every client at one endpoint (moto's server, say).
ENDPOINT_ENV = "VEGART_ADMIN_ENDPOINT_URL"

#: The stack outputs the tool reads, by the :class:`Targets` field they fill.
STACK_OUTPUTS = {
    "table": "KeysTableName",
    "api_id": "ApiId",
    "stage": "StageName",
    "default_plan_id": "DefaultUsagePlanId",
}

# An operator waits at a prompt: retry throttled calls a few times, but never hang for minutes.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"mode": "standard", "max_attempts": 5},
    user_agent_extra="vegart-admin",
)


def aws_client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> Any:
    """A boto3 client for ``service`` made the tool's way (region, endpoint, retries).

    Pass ``session`` to share one: each new session loads botocore's endpoint data again,
    which costs more than the calls a command makes.
    """
    session = session or boto3.session.Session(region_name=region)
    return session.client(service, endpoint_url=endpoint_url, config=_CONFIG)  # type: ignore[call-overload]


def _session(region: str | None, endpoint_url: str | None) -> boto3.session.Session:
    """A session; against a loopback endpoint (the local stack's moto) it needs no AWS setup.

    moto accepts any credentials in any region, so a newcomer without an AWS profile can run
    the tool against ``make run`` as it is printed, with nothing to configure first.
    """
    session = boto3.session.Session(region_name=region)
    host = urlsplit(endpoint_url or "").hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        local = session.get_credentials() is None
        return boto3.session.Session(
            region_name=session.region_name or "us-east-1",
            aws_access_key_id="local" if local else None,
            aws_secret_access_key="local" if local else None,
        )
    return session


@dataclass(frozen=True)
class Targets:
    """The resources of one deployment, and the clients that reach them.

    ``api_id`` absent means *table-only*: keys are stored, but no API Gateway key is made, so
    their rate and burst are not enforced (fine for the local stack, which has no API Gateway).
    ``plan_prefix`` starts the names of the usage plans made for custom rates; it is the stack's
    name when the stack is known, else the API's id, so that two stacks never share a plan.
    """

    table: str
    api_id: str | None = None
    stage: str | None = None
    default_plan_id: str | None = None
    plan_prefix: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    session: boto3.session.Session | None = field(default=None, repr=False, compare=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One session for every client: frozen, so set the way dataclasses do it themselves.
        if self.session is None:
            object.__setattr__(self, "session", _session(self.region, self.endpoint_url))

    @property
    def enforced(self) -> bool:
        """Whether API Gateway throttles this deployment's keys (an API is known)."""
        return bool(self.api_id)

    @property
    def prefix(self) -> str:
        """What starts the names of the usage plans this tool makes for this deployment."""
        return self.plan_prefix or self.api_id or "vegart"

    def client(self, service: str) -> Any:
        """The one client for ``service``; made on first use, so table-only runs never make
        an API Gateway client and a ``list`` never pays for one."""
        if service not in self._clients:
            self._clients[service] = aws_client(
                service, endpoint_url=self.endpoint_url, session=self.session
            )
        return self._clients[service]

    def store(self) -> KeyStore:
        """The keys table, through the gateway's own :class:`~vegart.keys.KeyStore`."""
        return KeyStore(self.table, lambda: self.client("dynamodb"))


def stack_outputs(
    stack: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> dict[str, str]:
    """A stack's outputs, ``{OutputKey: OutputValue}``."""
    cloudformation = aws_client(
        "cloudformation", region=region, endpoint_url=endpoint_url, session=session
    )
    answer = cloudformation.describe_stacks(StackName=stack)
    stacks = answer.get("Stacks", [])
    if not stacks:
        raise AdminError(f"no stack named {stack}")
    return {
        output["OutputKey"]: output["OutputValue"]
        for output in stacks[0].get("Outputs", [])
        if "OutputKey" in output and "OutputValue" in output
    }


def resolve_targets(
    *,
    stack: str | None = None,
    table: str | None = None,
    api_id: str | None = None,
    stage: str | None = None,
    default_plan_id: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Targets:
    """The deployment named by a stack and/or explicit options (explicit ones win).

    ``endpoint_url`` falls back to ``$VEGART_ADMIN_ENDPOINT_URL``.
    """
    endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
    session = _session(region, endpoint_url)
    found: dict[str, str] = {}
    if stack:
        outputs = stack_outputs(stack, endpoint_url=endpoint_url, session=session)
        found = {name: outputs[key] for name, key in STACK_OUTPUTS.items() if outputs.get(key)}
    given = {
        "table": table,
        "api_id": api_id,
        "stage": stage,
        "default_plan_id": default_plan_id,
    }
    chosen = {name: value or found.get(name) for name, value in given.items()}
    if not chosen["table"]:
        where = f"stack {stack} has no {STACK_OUTPUTS['table']} output" if stack else "no table"
        raise AdminError(f"{where}: pass --table", exit_code=USAGE)
    return Targets(
        table=str(chosen["table"]),
        api_id=chosen["api_id"],
        stage=chosen["stage"],
        default_plan_id=chosen["default_plan_id"],
        plan_prefix=stack or None,
        region=region,
        endpoint_url=endpoint_url,
        session=session,
    )
