"""One render request from validated input to image: seed, cache, backend, cache again."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from .backends.base import Backend
from .cache import RenderCache
from .cache_key import KEY_VERSION, RenderSpec, cache_key, etag, prompt_fingerprint
from .contract import RANDOM_SEED, RenderRequest
from .credits import CreditLedger
from .deadline import Deadline
from .errors import BadGateway, GatewayTimeout
from .jpeg import InvalidImage, check_render
from .leases import RenderLeases
from .observability import logger, metrics

#: Seeds the gateway picks for -1 stay within 32 bits, which every backend accepts.
PICKED_SEED_LIMIT = 2**32
#: How often a request waiting for another's render looks for the image.
LEASE_POLL_SECONDS = 0.2
#: Polls between two attempts at the lease while waiting (about a second).
LEASE_RETRY_POLLS = 5


def pick_seed() -> int:
    return secrets.randbelow(PICKED_SEED_LIMIT)


@dataclass(frozen=True)
class RenderResult:
    """An image and what the client is told about it."""

    image: bytes
    seed: int
    cache_hit: bool
    key: str
    #: The caller's balance after this request; ``None`` where no ledger is kept.
    remaining_credits: int | None = None

    @property
    def etag(self) -> str:
        return etag(self.key)


class RenderService:
    """Answers a render from the cache when it can, from the backend when it must."""

    def __init__(
        self,
        backend: Backend,
        cache: RenderCache | None,
        ledger: CreditLedger | None = None,
        *,
        seeds: Callable[[], int] = pick_seed,
        leases: RenderLeases | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.ledger = ledger
        self.leases = leases if cache is not None else None  # waiting needs a cache to read
        self._seeds = seeds
        self._sleep = sleep

    def spec(self, request: RenderRequest) -> RenderSpec:
        """Decide every input, the seed included, before the cache is asked."""
        seed = request.seed if request.seed != RANDOM_SEED else self._seeds()
        return RenderSpec(
            backend=self.backend.name,
            model=self.backend.model,
            prompt=request.prompt,
            seed=seed,
            steps=request.num_inference_steps,
            width=request.img_width,
            height=request.img_height,
        )

    def render(
        self, request: RenderRequest, deadline: Deadline, request_id: str, account: str = ""
    ) -> RenderResult:
        """The image for ``request``, charged to ``account`` (a key id) if it is rendered now."""
        spec = self.spec(request)
        key = cache_key(spec)
        cached = self.cache.get(key) if self.cache is not None else None
        lease = None
        if cached is None and self.leases is not None:
            cached, lease = self._await_turn(key, deadline)
        if cached is not None:
            metrics.add_metric(name="CacheHits", unit="Count", value=1)
            balance = self.ledger.balance(account) if self.ledger else None
            return RenderResult(cached, spec.seed, True, key, balance)
        try:
            return self._render_new(spec, key, deadline, request_id, account)
        finally:
            if lease is not None and self.leases is not None:
                self.leases.release(key, lease)

    def _await_turn(self, key: str, deadline: Deadline) -> tuple[bytes | None, str | None]:
        """Take the lease on ``key``, or wait for the image of whoever holds it.

        ``(image, None)`` when another request rendered it meanwhile, ``(None, token)`` when
        this request holds the lease and must render; 504 if neither happens in time. A waiter
        reads the cache every poll but asks for the lease again only now and then: the lease
        frees up only when its holder failed, and a burst of waiters must not hammer the table.
        """
        assert self.leases is not None
        assert self.cache is not None
        token = self.leases.acquire(key, deadline.remaining())
        if token is not None:
            return None, token
        metrics.add_metric(name="CoalescedRenders", unit="Count", value=1)
        polls = 0
        while deadline.remaining() > LEASE_POLL_SECONDS:
            self._sleep(LEASE_POLL_SECONDS)
            polls += 1
            image = self.cache.get(key)
            if image is not None:
                return image, None
            if polls % LEASE_RETRY_POLLS == 0:
                token = self.leases.acquire(key, deadline.remaining())
                if token is not None:
                    # The holder gave up just now; it may have stored the image first.
                    image = self.cache.get(key)
                    if image is None:
                        return None, token
                    self.leases.release(key, token)
                    return image, None
        raise GatewayTimeout

    def _render_new(
        self, spec: RenderSpec, key: str, deadline: Deadline, request_id: str, account: str
    ) -> RenderResult:
        metrics.add_metric(name="CacheMisses", unit="Count", value=1)
        remaining = self.ledger.debit(account) if self.ledger else None
        try:
            image = self._render_checked(spec, deadline)
        except BaseException:
            if self.ledger is not None:
                self.ledger.refund(account)
            raise
        if self.cache is not None:
            self.cache.put(key, image, _metadata(spec, request_id))
        metrics.add_metric(name="Renders", unit="Count", value=1)
        return RenderResult(image, spec.seed, False, key, remaining)

    def _render_checked(self, spec: RenderSpec, deadline: Deadline) -> bytes:
        image = self.backend.render(spec, deadline)
        try:
            check_render(image, spec.width)
        except InvalidImage as exc:
            logger.warning(
                "The render backend answered an invalid image",
                extra={"reason": str(exc), "bytes": len(image), "backend": self.backend.name},
            )
            metrics.add_metric(name="InvalidBackendImages", unit="Count", value=1)
            raise BadGateway(
                "The render backend answered something that is not a valid image"
            ) from None
        return image


def _metadata(spec: RenderSpec, request_id: str) -> dict[str, str]:
    """What made the image, as S3 object metadata (ASCII only, so the prompt goes as a hash)."""
    return {
        "key-version": KEY_VERSION,
        "backend": spec.backend,
        "model": spec.model,
        "prompt-sha256": prompt_fingerprint(spec.prompt),
        "prompt-length": str(len(spec.prompt)),
        "seed": str(spec.seed),
        "steps": str(spec.steps),
        "width": str(spec.width),
        "height": str(spec.height),
        "request-id": request_id,
    }
