"""Gateway settings from the environment (`WEIR_*`), read once by `get_settings()`; nothing at import time.

API keys are secrets: `api_keys` is a `SecretStr` (masked in any repr), and no error message quotes a key
entry, whole or in part (entries are named by their position).
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.home import default_home

# Set by `weir gateway` for its worker processes (`gateway.main`): the file of their shared token buckets.
RATE_LIMIT_FILE_ENV = "WEIR_RATE_LIMIT_FILE"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIR_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    api_keys: SecretStr | None = Field(default=None, description="tenant:key,tenant:key")
    tenants_file: Path | None = Field(
        default=None, description="Tenants with hashed keys, rate limits and allowed event types (gateway.tenants)."
    )
    home: Path = Field(default_factory=default_home)  # $WEIR_HOME, the same default as the CLI's
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    delivery_timeout_ms: int = Field(default=5000, ge=100, description="Longest wait for a Kafka ack.")
    gateway_workers: int = Field(default=1, ge=1, le=64, description="Worker processes (`weir gateway --workers`).")
    rate_limit_file: Path | None = Field(
        default=None,
        description="Token buckets shared by processes (gateway.ratelimit); `weir gateway --workers N` sets it.",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest body on the wire (413).")
    max_decompressed_bytes: int = Field(default=4_194_304, ge=1024, description="Largest inflated body (413).")
    max_batch_events: int = Field(default=1000, ge=1, description="Most events in one batch (413).")
    max_event_bytes: int = Field(default=262_144, ge=256, description="Largest single event as JSON.")
    max_json_depth: int = Field(default=32, ge=2, le=512, description="Deepest nesting of one event.")
    contracts_dir: Path | None = Field(default=None, description="Contracts for edge validation (default contracts/).")
    access_log: bool = Field(
        default=False, description="One log line per request (uvicorn's access log); metrics count requests anyway."
    )
    readiness_timeout_s: float = 2.0
    shutdown_drain_s: float = Field(
        default=0.0, ge=0, description="After SIGTERM, answer /readyz 503 this long before closing the listener."
    )

    @field_validator("tenants_file", "rate_limit_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def api_key_pairs(self) -> list[tuple[str, str]]:
        """(tenant, key) pairs from WEIR_API_KEYS, else from `$WEIR_HOME/api-key` (what `weir up` wrote). A
        malformed entry is a ValueError naming its position, never its text (it may hold a key)."""
        if self.api_keys is not None:
            raw, source = self.api_keys.get_secret_value(), "WEIR_API_KEYS"
        else:
            key_file = self.home / "api-key"
            raw = key_file.read_text().strip() if key_file.is_file() else ""
            source = str(key_file)
        pairs: list[tuple[str, str]] = []
        entries = [part.strip() for part in raw.split(",")]
        for position, item in enumerate(entries, start=1):
            if not item:
                continue
            tenant, sep, key = item.partition(":")
            if not sep or not tenant.strip() or not key.strip():
                raise ValueError(
                    f"{source}: entry {position} of {len(entries)} is not tenant:key (a tenant name, a colon, then "
                    "the key; the entry is not shown, as it may hold a key)"
                )
            pairs.append((tenant.strip(), key.strip()))
        return pairs


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
