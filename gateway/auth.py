"""API keys per tenant: kept as SHA-256 digests, compared in constant time against every known key.

A configured key is either the key itself (hashed at start-up; the plaintext is not kept) or its digest written
as `sha256:<64 hex digits>`, so that a deployment never needs to store plaintext keys. Make one with
`printf %s "$KEY" | sha256sum`. Clients always send the key itself.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass

PREHASHED = "sha256:"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def entry_digest(entry: str) -> bytes:
    """The digest a configured key entry stands for: `sha256:<hex>` as given, anything else hashed."""
    if entry.startswith(PREHASHED):
        hexpart = entry[len(PREHASHED) :]
        if not _HEX64.fullmatch(hexpart):
            raise ValueError("a pre-hashed key must be 'sha256:' followed by 64 hex digits")
        return bytes.fromhex(hexpart)
    if not entry:
        raise ValueError("an API key must not be empty")
    return digest(entry)


@dataclass(frozen=True)
class KeyStore:
    entries: tuple[tuple[bytes, str], ...]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> "KeyStore":
        """(tenant, key entry) pairs; a key entry is a key or `sha256:<hex>`. The same key for two tenants is a
        ValueError (naming the tenants, never the key)."""
        owner: dict[bytes, str] = {}
        entries: list[tuple[bytes, str]] = []
        for tenant, entry in pairs:
            key_digest = entry_digest(entry)
            other = owner.setdefault(key_digest, tenant)
            if other != tenant:
                raise ValueError(f"the same API key is configured for tenants {other!r} and {tenant!r}")
            if (key_digest, tenant) not in entries:
                entries.append((key_digest, tenant))
        return cls(tuple(entries))

    def tenant_for(self, key: str | None) -> str | None:
        """The tenant owning `key`, or None. Every entry is compared, so timing does not reveal which."""
        if not key:
            return None
        probe = digest(key)
        found: str | None = None
        for key_digest, tenant in self.entries:
            if hmac.compare_digest(key_digest, probe):
                found = tenant
        return found


def key_from_headers(x_api_key: str | None, authorization: str | None) -> str | None:
    """The API key of a request: `X-API-Key`, else `Authorization: Bearer <key>`."""
    if x_api_key:
        return x_api_key
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None
