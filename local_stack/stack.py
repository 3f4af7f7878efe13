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
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from devkit.api_model import ApiModel, load
from devkit.event_source import SqsEventSource
from devkit.lambda_instances import LambdaInstances
from devkit.moto import make_item_writes_atomic
from devkit.powertools import metrics_per_thread
from devkit.resources import (
    LOCAL_COMPONENT_ARN,
    LOCAL_DEPLOYMENT,
    LOCAL_ENDPOINT,
    create_resources,
)
from mock_server import MockSegmind

from .console import AccessRecord, function_scope
from .http_front import serve
from .options import StackOptions, ensure_free, port_error
from .provisioning import STACK_NAME, create_api, create_demo_key, create_outputs_stack
from .rest_api import LocalRestApi
from .usage_plans import UsagePlans

_AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # nosec B105 # moto's dummy credentials
}


def _scoped_output(name: str) -> Callable[[str], None]:
    """Where an instance of function ``name`` prints: the console, as that function's."""

    def output(text: str) -> None:
        with function_scope(name):
            sys.stdout.write(text)

    return output


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
                raise port_error(
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
        self.api_id, plan_id = create_api(self._client("apigateway"), model.stage, model.parameters)
        create_outputs_stack(
            self._client("cloudformation"), self.api_id, model.stage, plan_id, local_names
        )
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
        create_demo_key(self.aws_url, self.api_key)
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
            raise port_error(exc, self.options.host, self.options.port, "VEGART_PORT") from None

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
