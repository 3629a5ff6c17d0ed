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
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    readiness_timeout_s: float = 2.0

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
