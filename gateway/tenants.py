"""Tenants: who may post, under which API keys, which event types, and at what rate.

`TenantDirectory.authenticate(key)` finds the tenant of an API key (keys kept as SHA-256 digests, compared in
constant time); `RateLimiter.acquire(tenant, events, nbytes)` (in `gateway.ratelimit`, re-exported here)
answers None when the request fits the tenant's token buckets, else the seconds to wait (the 429's Retry-After),
and raises `RequestTooLarge` (413) for a request that could never fit.

Tenants come from two sources, which can be combined:

- `WEIR_API_KEYS=tenant:key,tenant:key` (or `$WEIR_HOME/api-key`): unlimited tenants, every event type.
- `WEIR_TENANTS_FILE=/path/tenants.yaml`:

      tenants:
        - name: acme
          keys: ["sha256:9f86d0…", "a-plaintext-key"]   # pre-hashed `sha256:<hex>` or plaintext
          events_per_second: 2000        # optional; omitted = unlimited
          bytes_per_second: 2000000      # optional; omitted = unlimited
          burst_seconds: 2               # bucket capacity = rate x burst_seconds (default 1)
          event_types: [order.created]   # optional; omitted = every event type

A tenant name defined twice (in the file, or in both sources), or one key for two tenants, is a `ConfigError`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.auth import KeyStore, entry_digest
from gateway.exceptions import ConfigError
from gateway.ratelimit import RateLimiter, RequestTooLarge
from gateway.settings import GatewaySettings

__all__ = ["RateLimiter", "RequestTooLarge", "Tenant", "TenantDirectory", "TenantsFile", "load_tenants_file"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_EVENT_TYPE = r"^[a-z][a-z0-9_.-]{0,127}$"


@dataclass(frozen=True)
class Tenant:
    name: str
    allowed_event_types: frozenset[str] | None = None  # None: every event type
    events_per_second: float | None = None  # None: unlimited
    bytes_per_second: float | None = None
    burst_seconds: float = 1.0  # bucket capacity = rate x burst_seconds

    def allows(self, event_type: str) -> bool:
        return self.allowed_event_types is None or event_type in self.allowed_event_types


class TenantSpec(BaseModel):
    """One tenant of the tenants file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    keys: list[str] = Field(min_length=1, description="API keys, plaintext or `sha256:<hex>`")
    events_per_second: float | None = Field(default=None, gt=0)
    bytes_per_second: float | None = Field(default=None, gt=0)
    burst_seconds: float = Field(default=1.0, gt=0)
    event_types: list[Annotated[str, Field(pattern=_EVENT_TYPE)]] | None = Field(default=None, min_length=1)

    @field_validator("keys")
    @classmethod
    def _keys_are_usable(cls, keys: list[str]) -> list[str]:
        for key in keys:
            entry_digest(key)  # ValueError for an empty key or a malformed `sha256:` entry (never echoes it)
        return keys

    def tenant(self) -> Tenant:
        return Tenant(
            self.name,
            frozenset(self.event_types) if self.event_types is not None else None,
            self.events_per_second,
            self.bytes_per_second,
            self.burst_seconds,
        )


class TenantsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenants: list[TenantSpec]


class TenantsFileSettings(BaseSettings):
    """`WEIR_TENANTS_FILE`, read from the environment (kept apart from `GatewaySettings`)."""

    model_config = SettingsConfigDict(env_prefix="WEIR_", extra="ignore")

    tenants_file: Path | None = None

    @field_validator("tenants_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def load_tenants_file(path: Path) -> TenantsFile:
    """Parse and validate a tenants file; any problem is a `ConfigError` naming the file and what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"tenants file {path}: cannot read it: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"tenants file {path}: not valid YAML: {exc}") from None
    try:
        parsed = TenantsFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"tenants file {path}: {_describe(exc)}") from None
    seen: set[str] = set()
    for spec in parsed.tenants:
        if spec.name in seen:
            raise ConfigError(f"tenants file {path}: tenant {spec.name!r} is defined twice")
        seen.add(spec.name)
    return parsed


class TenantDirectory:
    def __init__(self, tenants: dict[str, Tenant], keys: KeyStore) -> None:
        self._tenants = tenants
        self._keys = keys

    @classmethod
    def from_settings(cls, settings: GatewaySettings, tenants_file: Path | None = None) -> "TenantDirectory":
        """Tenants from `WEIR_API_KEYS` (unlimited) plus those of `tenants_file` (default: WEIR_TENANTS_FILE).
        Raises `ConfigError` for anything malformed or ambiguous."""
        try:
            pairs = settings.api_key_pairs()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        tenants = {name: Tenant(name) for name, _ in pairs}
        path = tenants_file or getattr(settings, "tenants_file", None) or TenantsFileSettings().tenants_file
        if path is not None:
            for spec in load_tenants_file(Path(path)).tenants:
                if spec.name in tenants:
                    raise ConfigError(f"tenant {spec.name!r} is defined both in WEIR_API_KEYS and in {path}")
                tenants[spec.name] = spec.tenant()
                pairs.extend((spec.name, key) for key in spec.keys)
        try:
            keys = KeyStore.from_pairs(pairs)
        except ValueError as exc:
            where = f" (WEIR_API_KEYS and {path})" if path is not None else " (WEIR_API_KEYS)"
            raise ConfigError(f"{exc}{where}") from None
        return cls(tenants, keys)

    def __len__(self) -> int:
        return len(self._tenants)

    def __contains__(self, name: object) -> bool:
        return name in self._tenants

    def get(self, name: str) -> Tenant | None:
        return self._tenants.get(name)

    @property
    def keys(self) -> KeyStore:
        return self._keys

    def authenticate(self, key: str | None) -> Tenant | None:
        name = self._keys.tenant_for(key)
        return self._tenants.get(name) if name is not None else None
