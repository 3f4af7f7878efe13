"""A SageMaker real-time endpoint running the diffusers LCM pipeline, as a render backend.

The endpoint runs ``sagemaker/code/inference.py``; this side only calls ``InvokeEndpoint`` and
sorts what comes back into the contract's backend table (docs/contract.md, "Backend answers"):

- ``ModelError`` whose message starts with ``bad_request:``: the model refused the input, the
  client gets 400 with the model's message. The Hugging Face inference toolkit answers *every*
  exception of a hook as a 400, a CUDA fault included, so the status alone cannot tell; the
  prefix is what ``sagemaker/code/render_request.py`` puts on its refusals. Any other
  ``ModelError`` is retried, then 502;
- ``ModelNotReadyException`` and throttling: retried with back-off, then 429;
- ``ServiceUnavailable``, ``InternalFailure``, ``InternalDependencyException``, a refused or
  reset connection: retried, then 502;
- no answer before the deadline: 504;
- ``ValidationError`` saying the inference component "has no capacity": the endpoint has
  scaled to zero copies and one is starting (SageMakerMinCopies 0). That takes minutes, far
  past any request's deadline, so there is no retry: :class:`NoCapacity` (429, with a
  ``Retry-After``) at once, counted in ``BackendNoCapacity``; a v2 job waits instead;
- anything else (``ValidationError``: no such endpoint, a role that may not invoke it) is the
  deployment's fault: 502, with an alarm-worthy log line and metric.

A body that is not a 1024 x 1024 JPEG is refused by the render service's check (502, nothing
cached), as for every backend.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from vegart.aws import error_code
from vegart.contract import MODEL_SLUG
from vegart.deadline import Deadline
from vegart.errors import BadGateway, BadRequest, DeadlineExceeded, NoCapacity, RateLimited
from vegart.observability import logger, metrics
from vegart.render.backends.retry import RetryPolicy, Transient, with_retries
from vegart.render.spec import RenderSpec

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.type_defs import InvokeEndpointInputTypeDef

_MESSAGE_LIMIT = 300
#: How the model server marks an input it refuses (sagemaker/code/render_request.py).
BAD_REQUEST_PREFIX = "bad_request:"
_RATE_LIMITED = {"ModelNotReadyException", "ThrottlingException", "TooManyRequestsException"}
_UNAVAILABLE = {"ServiceUnavailable", "InternalFailure", "InternalDependencyException"}
#: What InvokeEndpoint's ValidationError says while a component has no copy to serve.
_NO_CAPACITY = "has no capacity"
#: The Retry-After of a render refused at zero copies. A copy takes several minutes to start;
#: a minute apart finds it soon after it is up without a client hammering meanwhile.
NO_CAPACITY_RETRY_AFTER_SECONDS = 60


def _refusal(error: ClientError) -> str | None:
    """The model's message if it refused the input (``bad_request: ...``), else ``None``.

    The toolkit wraps a hook's exception as ``{"code": 400, "type": ..., "message": ...}``.
    """
    original = str(error.response.get("OriginalMessage") or "")
    try:
        document = json.loads(original)
    except (TypeError, ValueError, RecursionError):  # the model's text: untrusted like any input
        document = {"message": original}
    message = document.get("message") if isinstance(document, dict) else None
    if not isinstance(message, str) or not message.startswith(BAD_REQUEST_PREFIX):
        return None
    text = message.removeprefix(BAD_REQUEST_PREFIX).strip()
    return text[:_MESSAGE_LIMIT] or BadRequest.default_message


class SageMakerBackend:
    """Renders through ``InvokeEndpoint`` on the deployment's endpoint (and, when it names
    one, on its inference component)."""

    name = "sagemaker"
    model = MODEL_SLUG

    def __init__(
        self,
        endpoint: str,
        client: Callable[[float], Any],
        *,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        component: str = "",
    ) -> None:
        """``client(read_timeout)`` gives a sagemaker-runtime client with that read timeout."""
        self.endpoint = endpoint
        self.component = component
        self._client = client
        self._policy = policy or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311  # nosec B311 # jitter, not cryptography
        self._sleep = sleep

    def render(self, spec: RenderSpec, deadline: Deadline) -> bytes:
        body = json.dumps(
            {
                "prompt": spec.prompt,
                "seed": spec.seed,
                "num_inference_steps": spec.num_inference_steps,
                "img_width": spec.img_width,
                "img_height": spec.img_height,
            }
        ).encode()
        return with_retries(
            lambda: self._attempt(body, deadline),
            deadline,
            policy=self._policy,
            rng=self._rng,
            sleep=self._sleep,
        )

    def _attempt(self, body: bytes, deadline: Deadline) -> bytes:
        remaining = deadline.remaining()
        if remaining < 1:
            raise DeadlineExceeded
        # Whole seconds, so that a warm function keeps a handful of clients, not one a call.
        client = self._client(float(math.floor(remaining)))
        try:
            request: InvokeEndpointInputTypeDef = {
                "EndpointName": self.endpoint,
                "Body": body,
                "ContentType": "application/json",
                "Accept": "image/jpeg",
            }
            if self.component:
                request["InferenceComponentName"] = self.component
            answer = client.invoke_endpoint(**request)
            return bytes(answer["Body"].read())
        except ReadTimeoutError:  # the client's read timeout is the deadline
            raise DeadlineExceeded from None
        except (ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError):
            raise Transient(BadGateway()) from None
        except ClientError as exc:
            raise self._classify(exc) from None
        except BotoCoreError as exc:
            logger.warning("SageMaker call failed", extra={"error": type(exc).__name__})
            raise Transient(BadGateway()) from None

    def _classify(self, error: ClientError) -> Exception:
        code = error_code(error)
        if code == "ModelError":
            refusal = _refusal(error)
            if refusal is not None:
                return BadRequest(refusal)
            original = error.response.get("OriginalStatusCode")
            logger.warning("The model failed", extra={"original_status": original})
            return Transient(BadGateway())
        if code in _RATE_LIMITED:
            return Transient(RateLimited())
        if code in _UNAVAILABLE:
            return Transient(BadGateway())
        if code == "ValidationError" and _NO_CAPACITY in str(error).lower():
            logger.info("The render endpoint has no copy running; one is starting")
            metrics.add_metric(name="BackendNoCapacity", unit="Count", value=1)
            return NoCapacity(retry_after=NO_CAPACITY_RETRY_AFTER_SECONDS)
        logger.error("SageMaker refused the gateway's call", extra={"code": code})
        metrics.add_metric(name="UpstreamAccountErrors", unit="Count", value=1)
        return BadGateway()
