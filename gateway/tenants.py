"""Tenants: who may post, under which API keys, which event types, and at what rate.

`TenantDirectory.authenticate(key)` finds the tenant of an API key (keys kept as SHA-256 digests, compared in
constant time). A tenant's rates are enforced by `gateway.ratelimit` (which imports this module, never the
reverse).

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
No error quotes a key, whole or in part: not the file's offending line (YAML errors give the line and column),
not an unknown field's name (it could be a key typed in the wrong place), not a malformed `sha256:` entry.
"""

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.auth import KeyStore, entry_digest
from gateway.exceptions import ConfigError
from gateway.settings import GatewaySettings
from ingest.envelope import EVENT_TYPE_PATTERN

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_EVENT_TYPE = f"^(?:{EVENT_TYPE_PATTERN})$"


@dataclass(frozen=True)
class Tenant:
    name: str
    allowed_event_types: frozenset[str] | None = None  # None: every event type
    events_per_second: float | None = None  # None: unlimited
    bytes_per_second: float | None = None
    burst_seconds: float = 1.0  # bucket capacity = rate x burst_seconds

    def allows(self, event_type: str) -> bool:
        return self.allowed_event_types is None or event_type in self.allowed_event_types

    @property
    def limited(self) -> bool:
        return self.events_per_second is not None or self.bytes_per_second is not None


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


_FIELDS = frozenset(TenantsFile.model_fields) | frozenset(TenantSpec.model_fields)
# A quoted piece of a YAML error message that may be kept: a character or two (`'\t'`, `':'`), or a token kind.
_QUOTED = re.compile(r"'([^']*)'")
_HARMLESS = re.compile(r".{0,2}|<[a-z ]+>", re.DOTALL)


def _describe(exc: ValidationError) -> str:
    """The validation errors by path and message. Pydantic's messages never quote the input; a path part that
    is not a field name (an unknown field: it may be a key typed in the wrong place) is not quoted either."""
    parts = []
    for err in exc.errors():
        loc = [str(p) if isinstance(p, int) or p in _FIELDS else None for p in err["loc"]]
        known = [p for p in loc if p is not None]
        where = ".".join(known) or "(top level)"
        if err["type"] == "extra_forbidden" or None in loc:
            parts.append(f"{where}: {_unknown_field(err['loc'][-1], known)}")
        else:
            parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _unknown_field(name: Any, where: list[str]) -> str:
    allowed = sorted(TenantSpec.model_fields) if where else sorted(TenantsFile.model_fields)
    close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.7)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"an unknown field (not shown: it may hold a key); the fields are {', '.join(allowed)}{hint}"


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong with the YAML and where, without the text of the line (it may hold a key)."""
    mark = getattr(exc, "problem_mark", None)
    words = [w for w in (getattr(exc, "context", None), getattr(exc, "problem", None)) if isinstance(w, str)]
    text = "; ".join(_QUOTED.sub(_redact_quoted, w) for w in words) or type(exc).__name__
    return f"{text} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else text


def _redact_quoted(match: re.Match[str]) -> str:
    return match.group(0) if _HARMLESS.fullmatch(match.group(1)) else "'…'"


def load_tenants_file(path: Path) -> TenantsFile:
    """Parse and validate a tenants file; any problem is a `ConfigError` naming the file and what is wrong."""
    try:
        raw = yaml.safe_load(path.read_bytes().decode())
    except OSError as exc:
        raise ConfigError(f"tenants file {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"tenants file {path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"tenants file {path}: not valid YAML: {_yaml_problem(exc)}") from None
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
        """Tenants from `WEIR_API_KEYS` (unlimited) plus those of `tenants_file` (default: the settings'
        `tenants_file`, WEIR_TENANTS_FILE). Raises `ConfigError` for anything malformed or ambiguous."""
        try:
            pairs = settings.api_key_pairs()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        tenants = {name: Tenant(name) for name, _ in pairs}
        path = tenants_file or settings.tenants_file
        if path is not None:
            for spec in load_tenants_file(path).tenants:
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

    def limited(self) -> int:
        """How many tenants have a rate limit."""
        return sum(1 for tenant in self._tenants.values() if tenant.limited)

    @property
    def keys(self) -> KeyStore:
        return self._keys

    def authenticate(self, key: str | None) -> Tenant | None:
        name = self._keys.tenant_for(key)
        return self._tenants.get(name) if name is not None else None
