"""Per-tenant rate limits: two token buckets per tenant, events/s and bytes/s.

A bucket holds at most `rate x burst_seconds` tokens and refills continuously at `rate` per second, read from a
monotonic clock (wall-clock jumps never refill or drain it). A request takes `events` tokens from the events
bucket and `nbytes` from the bytes bucket, all or nothing: when either bucket is short, nothing is taken and
`acquire` answers the seconds until both hold enough (the 429's `Retry-After`).

A request that can never fit, because it is larger than a bucket's whole capacity, raises `RequestTooLarge`
(an HTTP 413 `PayloadTooLarge`): retrying would never help, so the client must split it. Zero-sized requests
always fit.

Limits are per worker process: with N uvicorn workers a tenant may reach up to N times its configured rate
(each worker keeps its own buckets; nothing is shared). Configure rates per worker accordingly.

Cost: one uncontended lock and a few float operations per call; buckets are created lazily per tenant.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.exceptions import PayloadTooLarge

if TYPE_CHECKING:
    from gateway.tenants import Tenant

Clock = Callable[[], float]
_EPSILON = 1e-9  # float refill arithmetic: a shortfall this small (relative to the capacity) counts as none


class RequestTooLarge(PayloadTooLarge):
    """The request is bigger than the tenant's bucket: it can never be admitted, whatever the wait (413)."""


@dataclass
class TokenBucket:
    """`rate` tokens per second, at most `capacity`; starts full. Not thread-safe on its own."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst_seconds: float, now: float) -> "TokenBucket":
        capacity = rate * burst_seconds
        return cls(rate=rate, capacity=capacity, tokens=capacity, updated=now)

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` tokens are there (0.0 when they already are); call after `refill`."""
        missing = amount - self.tokens
        return missing / self.rate if missing > _EPSILON * max(1.0, self.capacity) else 0.0


@dataclass
class _TenantBuckets:
    limits: tuple[float | None, float | None, float]
    events: TokenBucket | None
    nbytes: TokenBucket | None


class RateLimiter:
    """Per-tenant token buckets (events/s and bytes/s), per worker process; thread-safe.

    `acquire(tenant, events, nbytes)` answers None when the request is admitted (its tokens are taken), else the
    seconds to wait before it would be (nothing is taken); raises `RequestTooLarge` when it never would be.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _TenantBuckets] = {}

    def acquire(self, tenant: "Tenant", events: int, nbytes: int) -> float | None:
        if tenant.events_per_second is None and tenant.bytes_per_second is None:
            return None
        if events < 0 or nbytes < 0:
            raise ValueError("events and nbytes must be >= 0")
        with self._lock:
            now = self._clock()
            buckets = self._buckets_of(tenant, now)
            wanted = ((buckets.events, events, "events"), (buckets.nbytes, nbytes, "bytes"))
            pairs = [(bucket, float(n), unit) for bucket, n, unit in wanted if bucket is not None]
            wait = 0.0
            for bucket, amount, unit in pairs:
                if amount > bucket.capacity:
                    raise RequestTooLarge(
                        f"the request's {amount:.0f} {unit} exceed the burst of tenant {tenant.name!r}, "
                        f"{bucket.capacity:.0f} {unit} ({bucket.rate:g}/s x {tenant.burst_seconds:g} s): "
                        "it can never be admitted; split it into smaller requests"
                    )
                bucket.refill(now)
                wait = max(wait, bucket.wait_for(amount))
            if wait > 0:
                return wait
            for bucket, amount, _ in pairs:
                bucket.tokens = max(0.0, bucket.tokens - amount)
            return None

    def _buckets_of(self, tenant: "Tenant", now: float) -> _TenantBuckets:
        limits = (tenant.events_per_second, tenant.bytes_per_second, tenant.burst_seconds)
        found = self._buckets.get(tenant.name)
        if found is None or found.limits != limits:  # first use, or the tenant's limits changed: start full
            eps, bps, burst = limits
            found = _TenantBuckets(
                limits,
                TokenBucket.full(eps, burst, now) if eps is not None else None,
                TokenBucket.full(bps, burst, now) if bps is not None else None,
            )
            self._buckets[tenant.name] = found
        return found
