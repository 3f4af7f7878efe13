"""Segmind's hosted API as a render backend, over one pooled ``requests`` session.

Every answer Segmind can give is sorted into one of three piles, following the contract's
backend table: an image, a final error the client gets now, or a transient failure that is
worth another attempt if the deadline allows one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter

from vegart.contract import MODEL_SLUG
from vegart.deadline import Deadline
from vegart.errors import BadGateway, BadRequest, DeadlineExceeded, GatewayTimeout, RateLimited
from vegart.observability import logger, metrics
from vegart.render.backends.retry import RetryPolicy, Transient, server_wait, with_retries
from vegart.render.jpeg import MAX_JPEG_BYTES
from vegart.render.spec import RenderSpec

_CHUNK = 64 * 1024
_MESSAGE_LIMIT = 300


def new_session(pool_size: int = 4) -> requests.Session:
    """A session whose connections survive between warm invocations; retries are ours."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _upstream_message(response: requests.Response) -> str:
    """Segmind's own message for a 400, trimmed; never the raw body of something else."""
    try:
        document = response.json()
    except (ValueError, RecursionError):  # the backend's body: untrusted like any input
        return BadRequest.default_message
    message = document.get("error") if isinstance(document, dict) else None
    if not isinstance(message, str) or not message.strip():
        return BadRequest.default_message
    return message.strip()[:_MESSAGE_LIMIT]


class SegmindBackend:
    """Renders through ``POST {base_url}/segmind-vega-rt-v1`` with the gateway's own key."""

    name = "segmind"
    model = MODEL_SLUG

    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str],
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        connect_timeout: float = 3.05,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/{self.model}"
        self._api_key = api_key
        self._session = session or new_session()
        self._policy = policy or RetryPolicy()
        self._connect_timeout = connect_timeout
        self._rng = rng or random.Random()  # noqa: S311  # nosec B311 # jitter, not cryptography
        self._sleep = sleep

    def render(self, spec: RenderSpec, deadline: Deadline) -> bytes:
        payload = {
            "prompt": spec.prompt,
            "num_inference_steps": spec.num_inference_steps,
            "seed": spec.seed,
            "img_width": spec.img_width,
            "img_height": spec.img_height,
            "base64": False,
        }
        headers = {"x-api-key": self._api_key(), "Accept": "image/jpeg"}
        return with_retries(
            lambda: self._attempt(payload, headers, deadline),
            deadline,
            policy=self._policy,
            rng=self._rng,
            sleep=self._sleep,
        )

    def _attempt(
        self, payload: dict[str, object], headers: dict[str, str], deadline: Deadline
    ) -> bytes:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise DeadlineExceeded
        timeout = (min(self._connect_timeout, remaining), remaining)
        try:
            response = self._session.post(
                self._url, json=payload, headers=headers, timeout=timeout, stream=True
            )
        except requests.exceptions.ConnectTimeout:
            raise Transient(BadGateway()) from None
        except requests.exceptions.ReadTimeout:  # the read timeout is the deadline
            raise DeadlineExceeded from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            raise Transient(BadGateway()) from None
        with response:
            return self._classify(response, deadline)

    def _classify(self, response: requests.Response, deadline: Deadline) -> bytes:
        status = response.status_code
        if status == 200:
            return self._image(response, deadline)
        if status == 400:
            raise BadRequest(_upstream_message(response))
        if status in (401, 403, 406):
            # The gateway's own Segmind account is wrong or empty: an operator must act.
            logger.error("Segmind refused the gateway's account", extra={"upstream_status": status})
            metrics.add_metric(name="UpstreamAccountErrors", unit="Count", value=1)
            raise BadGateway
        if status == 429:
            raise Transient(RateLimited(), wait=server_wait(response.headers))
        if status in (500, 502, 503):
            raise Transient(BadGateway(), wait=None)
        if status == 504:
            raise GatewayTimeout
        logger.warning(
            "Unexpected status from the render backend", extra={"upstream_status": status}
        )
        raise BadGateway

    def _image(self, response: requests.Response, deadline: Deadline) -> bytes:
        body = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > MAX_JPEG_BYTES:
                    raise BadGateway("The render backend answered something that is not an image")
                if deadline.expired():
                    raise DeadlineExceeded
        except requests.exceptions.ReadTimeout:
            raise DeadlineExceeded from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            raise Transient(BadGateway()) from None  # cut off midway: worth another try
        if not body:
            raise Transient(BadGateway())
        # Whether it is a whole 1024 x 1024 JPEG is the render service's check, for every
        # backend alike (vegart.render.service).
        return bytes(body)
