"""The whole gateway on one machine: moto, the mock Segmind, the template's resources, the API.

:class:`LocalStack` is what ``make run`` starts (through ``python -m local_stack``) and what
the end-to-end tests start: the same object, so the tests exercise the newcomer's path.

- AWS is moto's server; the functions reach it through ``AWS_ENDPOINT_URL``, with no change
  to their code. The bucket, the tables, the job queues and the secret are made from
  ``template.yaml`` (:mod:`devkit.resources`), the REST API's stage and default usage plan in
  moto's API Gateway, and a CloudFormation stack ``vegart-local`` whose outputs name them all,
  so that ``vegart-admin --stack vegart-local --endpoint-url <aws>`` works as against a
  deployment.
- Each ``SQS`` event of the template (the job worker's, the dead-letter handler's) is polled
  as Lambda's event source mapping would (:mod:`devkit.event_source`).
- The backend is the mock Segmind with a realistic render delay, unless ``VEGART_BACKEND`` is
  ``segmind`` and ``SEGMIND_API_KEY`` is set: then the real Segmind, with that key.
- The demo key is made by ``vegart-admin``'s own ``create_key``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from devkit.api_model import ApiModel, load
from devkit.demo import DEMO_KEY, DEMO_LABEL
from devkit.event_source import SqsEventSource
from devkit.lambda_instances import KillPlan, LambdaInstances
from devkit.moto import make_item_writes_atomic
from devkit.powertools import metrics_per_thread
from devkit.resources import (
    LOCAL_COMPONENT_ARN,
    LOCAL_DEPLOYMENT,
    LOCAL_ENDPOINT,
    create_resources,
)
from mock_server import MockSegmind
from vegart.keys import MIN_KEY_LENGTH

from .console import AccessRecord, function_scope
from .http_front import serve
from .rest_api import LocalRestApi, UsagePlans

STACK_NAME = "vegart-local"
#: Fixed ports by default, so that ``local_stack/sam-env.json`` (sam local) can name them.
LOCAL_AWS_PORT = 4566
LOCAL_MOCK_PORT = 4010
DEMO_CREDITS = 1000
#: Segmind's hosted model takes about this long; the demo should feel the same.
REALISTIC_RENDER_MS = 1700
_AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # nosec B105 # moto's dummy credentials
}


BACKENDS = ("mock", "segmind", "sagemaker")
#: ``VEGART_WEBHOOK_POLICY``: loopback allowed (the default), or a deployment's own rules.
WEBHOOK_POLICIES = ("local", "deployed")


class StartupError(Exception):
    """The stack cannot start as asked; the message says what to change."""


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    aws_port: int = 0
    mock_port: int = 0
    render_delay_ms: int = REALISTIC_RENDER_MS
    api_key: str = DEMO_KEY
    backend: str = "mock"  # or "segmind", or "sagemaker"
    segmind_api_key: str = ""
    #: The model server (``sagemaker/local_server.py``) that stands for the endpoint.
    sagemaker_url: str = ""
    #: Where moto and the mock listen: 0.0.0.0 lets `sam local`'s containers reach them.
    services_host: str = "127.0.0.1"
    #: Template parameters other than their defaults (tests shorten JobDeadlineSeconds).
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: Invocations to kill on purpose, by function (crash tests, chaos runs).
    kills: Mapping[str, KillPlan] = field(default_factory=dict)
    #: Where webhooks may point: ``local`` lets loopback through (a receiver on this
    #: machine), ``deployed`` applies a deployment's policy (public addresses only, https).
    webhook_policy: str = "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> StackOptions:
        """The options ``make run`` documents: VEGART_PORT, VEGART_API_KEY, VEGART_BACKEND...

        :class:`StartupError` names the variable to change when one is wrong, before anything
        starts.
        """
        env = dict(os.environ if env is None else env)
        backend = env.get("VEGART_BACKEND", "").strip().lower() or "mock"
        if backend not in BACKENDS:
            raise StartupError(
                f"VEGART_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}"
            )
        segmind_key = env.get("SEGMIND_API_KEY", "").strip()
        if backend == "segmind" and not segmind_key:
            raise StartupError(
                "VEGART_BACKEND=segmind renders with the real Segmind: set SEGMIND_API_KEY to "
                "your Segmind key, or unset VEGART_BACKEND to render with the mock"
            )
        sagemaker_url = env.get("SAGEMAKER_LOCAL_URL", "").strip()
        if backend == "sagemaker" and not sagemaker_url.startswith(("http://", "https://")):
            raise StartupError(
                "VEGART_BACKEND=sagemaker needs SAGEMAKER_LOCAL_URL, the model server's URL "
                "(such as http://127.0.0.1:8080), or unset VEGART_BACKEND to render with the mock"
            )
        webhook_policy = env.get("VEGART_WEBHOOK_POLICY", "").strip().lower() or "local"
        if webhook_policy not in WEBHOOK_POLICIES:
            raise StartupError(
                f"VEGART_WEBHOOK_POLICY must be one of {', '.join(WEBHOOK_POLICIES)}, not "
                f"{webhook_policy!r}"
            )
        api_key = env.get("VEGART_API_KEY") or DEMO_KEY
        if len(api_key) < MIN_KEY_LENGTH or api_key != api_key.strip():
            raise StartupError(
                f"VEGART_API_KEY must be at least {MIN_KEY_LENGTH} characters without spaces "
                f"around it (it has {len(api_key)}); set a longer key, or unset it to use "
                "the demo key"
            )
        options: dict[str, Any] = {
            "port": _number(env, "VEGART_PORT", cls.port, 65535),
            "aws_port": _number(env, "VEGART_AWS_PORT", LOCAL_AWS_PORT, 65535),
            "mock_port": _number(env, "VEGART_MOCK_PORT", LOCAL_MOCK_PORT, 65535),
            "render_delay_ms": _number(env, "VEGART_RENDER_DELAY_MS", REALISTIC_RENDER_MS, 600_000),
            "api_key": api_key,
            "backend": backend,
            "sagemaker_url": sagemaker_url if backend == "sagemaker" else "",
            "segmind_api_key": segmind_key if backend == "segmind" else "",
            "services_host": env.get("VEGART_SERVICES_HOST", "127.0.0.1"),
            "webhook_policy": webhook_policy,
        }
        options.update(overrides)
        return cls(**options)


def _scoped_output(name: str) -> Callable[[str], None]:
    """Where an instance of function ``name`` prints: the console, as that function's."""

    def output(text: str) -> None:
        with function_scope(name):
            sys.stdout.write(text)

    return output


def _number(env: Mapping[str, str], name: str, default: int, highest: int) -> int:
    """A whole number from 0 to ``highest`` in ``env[name]``, else :class:`StartupError`."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) > highest:
        raise StartupError(f"{name} must be a whole number from 0 to {highest}, not {text!r}")
    return int(text)


def ensure_free(host: str, port: int, variable: str) -> None:
    """:class:`StartupError` if something already listens on ``host:port`` (0 is always free)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _port_error(exc, host, port, variable) from None


def _port_error(error: OSError, host: str, port: int, variable: str) -> StartupError:
    if error.errno == errno.EADDRINUSE:
        return StartupError(
            f"port {port} on {host} is already in use ({variable}); stop what uses it, or set "
            f"{variable} to a free port"
        )
    return StartupError(f"cannot listen on {host}:{port} ({variable}): {error.strerror}")


class LocalStack:
    """Start with :meth:`start` (or ``with``); everything stops with :meth:`stop`."""

    def __init__(
        self,
        options: StackOptions | None = None,
        *,
        access_log: Callable[[AccessRecord], None] | None = None,
        **overrides: Any,
    ) -> None:
        self.options = options or StackOptions(**overrides)
        self._access_log = access_log
        self.mock: MockSegmind | None = None
        self._moto: Any = None
        self._server: Any = None
        self._api: LocalRestApi | None = None
        self._event_sources: list[SqsEventSource] = []
        #: The queue-fed functions' instances, by function (processes of their own).
        self.instances: dict[str, LambdaInstances] = {}
        self._saved_env: dict[str, str | None] = {}
        self.aws_url = ""
        self.api_id = ""

    # -- where things are ----------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def render_url(self) -> str:
        return f"{self.url}/v1/segmind-vega-rt-v1"

    @property
    def api_key(self) -> str:
        return self.options.api_key

    def describe(self) -> dict[str, Any]:
        """Everything a client or a test needs, as one JSON-able mapping."""
        return {
            "url": self.url,
            "render_url": self.render_url,
            "base_url": f"{self.url}/v1",
            "api_key": self.api_key,
            "aws_url": self.aws_url,
            "stack": STACK_NAME,
            "mock_url": self.mock.url if self.mock else None,
            "backend": self.options.backend,
        }

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - a dev dependency

        options = self.options
        # Every fixed port is checked before anything starts (moto's server would wait forever
        # for a port it cannot bind).
        ensure_free(options.host, options.port, "VEGART_PORT")
        ensure_free(options.services_host, options.aws_port, "VEGART_AWS_PORT")
        if options.backend == "mock":
            ensure_free(options.services_host, options.mock_port, "VEGART_MOCK_PORT")
        make_item_writes_atomic()

        self._moto = ThreadedMotoServer(
            ip_address=options.services_host, port=options.aws_port, verbose=False
        )
        # Werkzeug may still announce itself on stdout, which belongs to the caller.
        with contextlib.redirect_stdout(sys.stderr):
            self._moto.start()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _, port = self._moto.get_host_and_port()
        self.aws_url = f"http://127.0.0.1:{port}"
        self._set_env({**_AWS_ENV, "AWS_ENDPOINT_URL": self.aws_url})
        if self.options.backend == "mock":
            try:
                self.mock = MockSegmind(
                    host=self.options.services_host,
                    port=self.options.mock_port,
                    latency_ms=self.options.render_delay_ms,
                ).start()
            except OSError as exc:
                raise _port_error(
                    exc, self.options.services_host, self.options.mock_port, "VEGART_MOCK_PORT"
                ) from None
            segmind_url, segmind_key = self.mock.base_url, self.mock.api_key
        elif self.options.backend == "segmind":
            segmind_url, segmind_key = "https://api.segmind.com/v1", self.options.segmind_api_key
        else:  # sagemaker: no Segmind at all
            segmind_url, segmind_key = "https://api.segmind.com/v1", "unused"
        parameters = {**self.options.parameters, "SegmindBaseUrl": segmind_url}
        if self.options.backend == "sagemaker":
            parameters["Backend"] = "sagemaker"
        local_names = create_resources(
            LOCAL_DEPLOYMENT,
            segmind_key=segmind_key,
            endpoint_url=self.aws_url,
            parameters=parameters,
        )
        local_names["SegmindApiKeySecret"] = LOCAL_DEPLOYMENT.secret_id
        # The component's !Ref: its ARN, whose last part the functions are given as its name
        # (as deployed, a call names it; the local model server ignores it).
        local_names["RenderComponent"] = LOCAL_COMPONENT_ARN
        model = load(local_names, parameters)
        self.api_id, plan_id = self._create_api(model.stage, model.parameters)
        self._create_outputs_stack(model.stage, plan_id, local_names)
        environment: dict[str, str] = {}
        for function in model.functions.values():
            environment = {**function.environment, **environment}
        # The local stack's receivers are on this machine: webhooks may target loopback here
        # (and only loopback is let through beyond the public internet), unless the tester
        # asks for the deployed policy.
        if self.options.webhook_policy == "local":
            environment["WEBHOOK_ALLOW_LOOPBACK"] = "true"
        if self.options.backend == "sagemaker":
            # The endpoint is the local model server; boto3 reaches it by the runtime API's
            # own endpoint variable, so the backend's code is the deployed one.
            environment["SAGEMAKER_ENDPOINT_NAME"] = LOCAL_ENDPOINT
            environment["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.options.sagemaker_url
        self._set_env(environment)
        self._create_demo_key()
        self._api = LocalRestApi(
            model,
            api_id=self.api_id,
            usage_plans=UsagePlans(self._client("apigateway"), self.api_id, model.stage),
            demo_key=self.api_key,
        )
        # Loaded with the functions: concurrent requests are instances of their own.
        from vegart import observability  # noqa: PLC0415

        metrics_per_thread(observability.metrics)
        self._start_event_sources(model, local_names)
        try:
            self._server = serve(
                self._api, self.options.host, self.options.port, access_log=self._access_log
            )
        except OSError as exc:
            raise _port_error(exc, self.options.host, self.options.port, "VEGART_PORT") from None

    def stop(self) -> None:
        for source in self._event_sources:
            source.stop()
        self._event_sources.clear()
        for instances in self.instances.values():
            instances.close()
        self.instances.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._api is not None:
            self._api.close()
            self._api = None
        if self.mock is not None:
            self.mock.stop()
            self.mock = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._restore_env()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- set-up ----------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_url, region_name="us-east-1")  # type: ignore[call-overload]

    def _create_api(self, stage: str, parameters: dict[str, str]) -> tuple[str, str]:
        """The REST API's stage and default usage plan, where vegart-admin manages keys."""
        apigateway = self._client("apigateway")
        api_id = apigateway.create_rest_api(name=f"{STACK_NAME}-api")["id"]
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        apigateway.put_method(
            restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE"
        )
        apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="MOCK")
        apigateway.create_deployment(restApiId=api_id, stageName=stage)
        plan = apigateway.create_usage_plan(
            name=f"{STACK_NAME}-default",
            apiStages=[{"apiId": api_id, "stage": stage}],
            throttle={
                "rateLimit": float(parameters["ThrottleRateLimit"]),
                "burstLimit": int(parameters["ThrottleBurstLimit"]),
            },
        )
        return api_id, plan["id"]

    def _start_event_sources(self, model: ApiModel, local_names: Mapping[str, str]) -> None:
        """Lambda's event source mappings: each queue's batches to its function, whose
        instances are processes of their own (killable, as a crash test needs)."""
        sqs = self._client("sqs")
        for source in model.queue_sources:
            spec = model.functions[source.function]
            instances = LambdaInstances(
                spec, output=_scoped_output(spec.name), kills=self.options.kills.get(spec.name)
            )
            self.instances[spec.name] = instances
            self._event_sources.append(
                SqsEventSource(
                    source, instances.invoke, sqs=sqs, queue_url=local_names[source.queue]
                ).start()
            )

    def _create_outputs_stack(
        self, stage: str, plan_id: str, local_names: Mapping[str, str]
    ) -> None:
        """A stack whose outputs name the local resources, for ``vegart-admin --stack``."""
        outputs = {
            "KeysTableName": LOCAL_DEPLOYMENT.keys_table,
            "ApiId": self.api_id,
            "StageName": stage,
            "DefaultUsagePlanId": plan_id,
            "CacheBucketName": LOCAL_DEPLOYMENT.bucket,
            "JobsTableName": LOCAL_DEPLOYMENT.jobs_table,
            "JobQueueUrl": local_names["JobQueue"],
            "JobDeadLetterQueueUrl": local_names["JobDeadLetterQueue"],
            "WebhookQueueUrl": local_names["WebhookQueue"],
            "WebhookDeadLetterQueueUrl": local_names["WebhookDeadLetterQueue"],
        }
        body = {
            "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
        with warnings.catch_warnings():  # moto only stores the placeholder, as intended
            warnings.simplefilter("ignore", UserWarning)
            self._client("cloudformation").create_stack(
                StackName=STACK_NAME, TemplateBody=json.dumps(body)
            )

    def _create_demo_key(self) -> None:
        from vegart_admin.operations import create_key  # noqa: PLC0415 - the operator's code
        from vegart_admin.targets import resolve_targets  # noqa: PLC0415

        targets = resolve_targets(stack=STACK_NAME, endpoint_url=self.aws_url)
        create_key(targets, label=DEMO_LABEL, credits=DEMO_CREDITS, plain_key=self.api_key)

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
