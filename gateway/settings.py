"""Gateway settings from the environment (`WEIR_*`), read once by `get_settings()`; nothing at import time."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIR_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    api_keys: str | None = Field(default=None, description="tenant:key,tenant:key")
    home: Path = Path(".weir")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    delivery_timeout_ms: int = Field(default=5000, ge=100, description="Longest wait for a Kafka ack.")
    gateway_workers: int = Field(default=1, ge=1, le=64, description="Worker processes (`weir gateway --workers`).")
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

    def api_key_pairs(self) -> list[tuple[str, str]]:
        """(tenant, key) pairs from WEIR_API_KEYS, else from `$WEIR_HOME/api-key` (what `weir up` wrote)."""
        raw = self.api_keys
        if raw is None:
            key_file = self.home / "api-key"
            raw = key_file.read_text().strip() if key_file.is_file() else ""
        pairs: list[tuple[str, str]] = []
        for item in filter(None, (part.strip() for part in raw.split(","))):
            tenant, sep, key = item.partition(":")
            if not sep or not tenant or not key:
                raise ValueError(f"WEIR_API_KEYS entry {item.split(':')[0]!r}… is not tenant:key")
            pairs.append((tenant, key))
        return pairs


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
