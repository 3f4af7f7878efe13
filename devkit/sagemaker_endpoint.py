"""A SageMaker runtime stand-in: one endpoint with one inference component, scaled by the test.

The gateway's SageMaker backend is boto3's ``sagemaker-runtime`` client; pointed here
(``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``), it meets ``InvokeEndpoint``'s wire protocol as
SageMaker speaks it, parsed by the real botocore:

- ``POST /endpoints/{name}/invocations`` with the component in
  ``X-Amzn-SageMaker-Inference-Component``;
- at zero copies, the answer SageMaker gives while a component has scaled to zero: HTTP 400,
  ``x-amzn-ErrorType: ValidationError``, "Inference Component has no capacity to process this
  request...", each one counted as SageMaker counts ``NoCapacityInvocationFailures``;
- with a copy, the JPEG the mock Segmind would render for the same prompt, seed and steps;
- an unknown endpoint or component: the ValidationError SageMaker gives for those.

Started on port 0 in process, like the mock Segmind. :meth:`scale_to` is what Application Auto
Scaling would do to the component's copy count.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mock_server import render_jpeg

from .loopback_server import serving

#: SageMaker's words for an invocation of a component with no copy (read off a real endpoint).
NO_CAPACITY_MESSAGE = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may "
    "be in-progress (if configured) or try to increase the capacity by invoking "
    "UpdateInferenceComponentRuntimeConfig API."
)
_COMPONENT_HEADER = "X-Amzn-SageMaker-Inference-Component"
_ERROR_TYPE = "ValidationError:http://internal.amazon.com/coral/com.amazon.sagemaker/"


@dataclass(frozen=True)
class Invocation:
    """One InvokeEndpoint call as the endpoint saw it, and what it answered."""

    endpoint: str
    component: str | None
    status: int
    #: The ValidationError's message, for a refused call.
    error: str | None = None


class SageMakerEndpoint:
    """The stand-in; :meth:`running` starts it and stops it."""

    def __init__(self, endpoint: str, component: str, *, copies: int = 1) -> None:
        self.endpoint = endpoint
        self.component = component
        self.invocations: list[Invocation] = []
        self._copies = copies
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @classmethod
    @contextmanager
    def running(
        cls, endpoint: str, component: str, *, copies: int = 1
    ) -> Iterator[SageMakerEndpoint]:
        stand_in = cls(endpoint, component, copies=copies)
        with serving(stand_in._server):
            yield stand_in

    def scale_to(self, copies: int) -> None:
        """Set the component's copy count, as a scaling policy would once its copy is up."""
        with self._lock:
            self._copies = copies

    @property
    def no_capacity_failures(self) -> int:
        """What ``NoCapacityInvocationFailures`` would have counted so far."""
        with self._lock:
            return sum(1 for call in self.invocations if call.error == NO_CAPACITY_MESSAGE)

    def _answer(self, path: str, component: str | None, body: bytes) -> tuple[int, str, bytes]:
        """The status, content type and body SageMaker would answer."""
        name = path.removeprefix("/endpoints/").removesuffix("/invocations")
        with self._lock:
            copies = self._copies
        if name != self.endpoint:
            return _validation_error(f"Endpoint {name} of account 123456789012 not found.")
        if component != self.component:
            return _validation_error(f"Inference Component {component} not found.")
        if copies < 1:
            return _validation_error(NO_CAPACITY_MESSAGE)
        request = json.loads(body)
        image = render_jpeg(request["prompt"], request["seed"], request["num_inference_steps"])
        return 200, "image/jpeg", image

    def _record(self, call: Invocation) -> None:
        with self._lock:
            self.invocations.append(call)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self.path.split("?")[0]
                component = self.headers.get(_COMPONENT_HEADER)
                if not (path.startswith("/endpoints/") and path.endswith("/invocations")):
                    status, kind, payload = 404, "application/json", b'{"message": "no route"}'
                else:
                    status, kind, payload = stand_in._answer(path, component, body)
                    error = json.loads(payload)["message"] if status == 400 else None
                    stand_in._record(Invocation(path.split("/")[2], component, status, error))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                if status == 400:
                    self.send_header("x-amzn-ErrorType", _ERROR_TYPE)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the tests read the invocations, not a log."""

        return Handler


def _validation_error(message: str) -> tuple[int, str, bytes]:
    return 400, "application/json", json.dumps({"message": message}).encode()
