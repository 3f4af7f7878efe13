"""One render request from validated input to image: seed, cache, backend, cache again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vegart.contract import RenderRequest
from vegart.credits import CreditLedger
from vegart.deadline import Deadline
from vegart.errors import BadGateway, ContractError, GatewayTimeout
from vegart.observability import logger, metrics
from vegart.render.backends.base import Backend
from vegart.render.cache import RenderCache
from vegart.render.jpeg import InvalidImage, check_render
from vegart.render.leases import LeasesUnavailable, RenderLeases
from vegart.render.spec import (
    KEY_VERSION,
    RenderSpec,
    cache_key,
    decide,
    etag,
    pick_seed,
    prompt_fingerprint,
)

#: How often a request watching another's render reads the lease.
LEASE_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class RenderResult:
    """An image and what the client is told about it."""

    image: bytes
    seed: int
    cache_hit: bool
    key: str
    #: The caller's balance after this request; ``None`` where no ledger is kept.
    remaining_credits: int | None = None

    def etag_of(self, representation: str) -> str:
        """The strong validator of this image as ``jpeg`` bytes or as base64 ``json``."""
        return etag(self.key, representation)


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.ledger = ledger
        self.leases = leases if cache is not None else None  # waiting needs a cache to read
        self._seeds = seeds
        self._sleep = sleep
        self._clock = clock

    def spec(self, request: RenderRequest) -> RenderSpec:
        """Decide every input, the seed included, before the cache is asked."""
        return decide(request, (self.backend.name, self.backend.model), self._seeds)

    def image_for(
        self, request: RenderRequest, deadline: Deadline, request_id: str, account: str = ""
    ) -> RenderResult:
        """The image for ``request``, charged to ``account`` (a key id) if it is rendered now."""
        return self.render(self.spec(request), deadline, request_id, account)

    def render(
        self, spec: RenderSpec, deadline: Deadline, request_id: str, account: str = ""
    ) -> RenderResult:
        """The image of a decided ``spec``: from the cache, another's render, or the backend.

        A job's worker calls this with a spec decided at submit, on a service without a
        ledger: its credit was held when the job was queued.
        """
        key = cache_key(spec)
        cached = self.cache.get(key) if self.cache is not None else None
        lease = None
        if cached is None and self.leases is not None:
            cached, lease = self._await_turn(key, deadline, account)
        if cached is not None:
            metrics.add_metric(name="CacheHits", unit="Count", value=1)
            balance = self.ledger.balance(account) if self.ledger else None
            return RenderResult(cached, spec.seed, True, key, balance)
        return self._render_new(
            spec, key, deadline, request_id=request_id, account=account, lease=lease
        )

    def _await_turn(
        self, key: str, deadline: Deadline, account: str
    ) -> tuple[bytes | None, str | None]:
        """Take the lease on ``key``, or watch whoever holds it until its outcome is known.

        ``(None, token)``: this request holds the lease and renders. ``(image, None)``: another
        request rendered it meanwhile. The holder's failure is raised as this request's own
        answer, at once. A request that could not pay for a render is refused before it waits
        (406, or 403 for a disabled key), and the wait never outlasts the deadline (504).
        """
        assert self.leases is not None
        assert self.cache is not None
        claim = self.leases.acquire(key, deadline.remaining())
        if claim.token is not None:
            return None, claim.token
        if self.ledger is not None:
            self.ledger.require_credit(account)
        metrics.add_metric(name="CoalescedRenders", unit="Count", value=1)
        watched = claim.holder
        while deadline.remaining() > LEASE_POLL_SECONDS:
            self._sleep(LEASE_POLL_SECONDS)
            try:
                lease = self.leases.read(key)
            except LeasesUnavailable:
                return None, None  # render on our own: availability over coordination
            if lease is not None and lease.holder is not None:
                if watched is None:
                    watched = lease.holder
                if lease.holder == watched and lease.expires_at >= self._clock():
                    continue  # still rendering
            elif lease is not None and lease.failure and lease.failure.holder == watched:
                metrics.add_metric(name="CoalescedFailures", unit="Count", value=1)
                raise lease.failure.error()
            # The watched attempt is over (or its holder has crashed): the image, or our turn.
            image = self.cache.get(key)
            if image is not None:
                return image, None
            claim = self.leases.acquire(key, deadline.remaining())
            if claim.token is not None:
                return None, claim.token
            watched = claim.holder  # someone else took it first: watch them instead
        raise GatewayTimeout

    def _render_new(
        self,
        spec: RenderSpec,
        key: str,
        deadline: Deadline,
        *,
        request_id: str,
        account: str,
        lease: str | None,
    ) -> RenderResult:
        """Charge, render, store. A refusal of the charge is this caller's own and ends the
        lease plainly; a failure of the render is written on the lease for its watchers."""
        try:
            remaining = self.ledger.debit(account) if self.ledger else None
        except BaseException:
            self._release(key, lease)
            raise
        metrics.add_metric(name="CacheMisses", unit="Count", value=1)
        try:
            image = self._render_checked(spec, deadline)
        except ContractError as error:
            self._refund(account)
            if lease is not None and self.leases is not None:
                self.leases.fail(key, lease, error)
            raise
        except BaseException:
            self._refund(account)
            self._release(key, lease)
            raise
        if self.cache is not None:
            self.cache.put(key, image, _metadata(spec, request_id))
        self._release(key, lease)
        metrics.add_metric(name="Renders", unit="Count", value=1)
        return RenderResult(image, spec.seed, False, key, remaining)

    def _refund(self, account: str) -> None:
        if self.ledger is not None:
            self.ledger.refund(account)

    def _release(self, key: str, lease: str | None) -> None:
        if lease is not None and self.leases is not None:
            self.leases.release(key, lease)

    def _render_checked(self, spec: RenderSpec, deadline: Deadline) -> bytes:
        image = self.backend.render(spec, deadline)
        try:
            check_render(image, spec.img_width)
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
        "steps": str(spec.num_inference_steps),
        "width": str(spec.img_width),
        "height": str(spec.img_height),
        "request-id": request_id,
    }
