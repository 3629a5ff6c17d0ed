"""API keys per tenant: kept as SHA-256 digests, compared in constant time against every known key."""

import hashlib
import hmac
from dataclasses import dataclass


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class KeyStore:
    entries: tuple[tuple[bytes, str], ...]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> "KeyStore":
        return cls(tuple((_digest(key), tenant) for tenant, key in pairs))

    def tenant_for(self, key: str | None) -> str | None:
        """The tenant owning `key`, or None. Every entry is compared, so timing does not reveal which."""
        if not key:
            return None
        probe = _digest(key)
        found: str | None = None
        for digest, tenant in self.entries:
            if hmac.compare_digest(digest, probe):
                found = tenant
        return found
