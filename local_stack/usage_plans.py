"""API keys and usage plans as API Gateway enforces them, for the local stack's REST API.

With ``ApiKeySourceType: AUTHORIZER`` the authorizer names the key's usage identifier; the
key must be an enabled API key in a usage plan of the stage (``vegart-admin`` keeps them in
moto's API Gateway), and its plan's rate and burst are a token bucket: above it, ``THROTTLED``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class TokenBucket:
    """A usage plan's throttle for one key: ``rate`` per second, up to ``burst`` at once."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, max(1, burst), clock
        self.tokens = float(self.burst)
        self.updated = clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self._clock()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class UsagePlans:
    """API keys and usage plans, as moto's API Gateway holds them (made by vegart-admin)."""

    def __init__(
        self, apigateway: Any, api_id: str, stage: str, refresh_seconds: float = 2.0
    ) -> None:
        self.apigateway, self.api_id, self.stage = apigateway, api_id, stage
        self.refresh_seconds = refresh_seconds
        self._buckets: dict[str, TokenBucket] = {}
        self._limits: dict[str, tuple[float, tuple[float, int] | None]] = {}
        self._lock = threading.Lock()

    def limits(self, usage_key: str) -> tuple[float, int] | None:
        """``(rate, burst)`` of the enabled API key with this value in a plan of the stage."""
        cached = self._limits.get(usage_key)
        if cached and time.monotonic() - cached[0] < self.refresh_seconds:
            return cached[1]
        found = None
        keys = self.apigateway.get_api_keys(includeValues=True, limit=500)["items"]
        for key in keys:
            if key.get("value") != usage_key or not key.get("enabled", True):
                continue
            for plan in self.apigateway.get_usage_plans(keyId=key["id"])["items"]:
                stages = {(s["apiId"], s.get("stage")) for s in plan.get("apiStages", [])}
                if (self.api_id, self.stage) in stages:
                    throttle = plan.get("throttle", {})
                    found = (
                        float(throttle.get("rateLimit", 10_000)),
                        int(throttle.get("burstLimit", 5_000)),
                    )
        self._limits[usage_key] = (time.monotonic(), found)
        return found

    def admit(self, usage_key: str) -> bool | None:
        """``None``: no such key in a plan; otherwise whether its bucket had a token."""
        limits = self.limits(usage_key)
        if limits is None:
            return None
        with self._lock:
            bucket = self._buckets.get(usage_key)
            if bucket is None or (bucket.rate, bucket.burst) != limits:
                bucket = self._buckets[usage_key] = TokenBucket(*limits)
        return bucket.take()
