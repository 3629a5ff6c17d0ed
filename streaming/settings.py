"""Streaming job settings from the environment (`WEIR_*`); read once by `get_settings()`."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.home import default_home
from ingest.topics import DQ_FAILURES_TOPIC, EVENTS_TOPIC


class StreamSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIR_", extra="ignore")

    home: Path = Field(default_factory=default_home)  # $WEIR_HOME, the same default as the CLI's
    lake_uri: str | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    stream_metrics_port: int = 9108
    spark_jars_dir: Path | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    trigger_seconds: float = Field(default=2.0, gt=0)
    max_offsets_per_trigger: int | None = Field(default=500_000, ge=1)
    shuffle_partitions: int = Field(default=2, ge=1)
    starting_offsets: str = "earliest"
    checkpoint_dir: Path | None = None
    stream_app_id: str = "weir-stream"
    events_topic: str = EVENTS_TOPIC
    failures_topic: str = DQ_FAILURES_TOPIC
    contracts_dir: Path | None = None
    parallel_writes: bool = True

    @property
    def lake(self) -> str:
        return self.lake_uri or str((self.home / "lake").resolve())

    @property
    def contracts(self) -> Path:
        return self.contracts_dir or Path(__file__).resolve().parents[1] / "contracts"

    @property
    def jars(self) -> Path:
        return self.spark_jars_dir or self.home / "jars" / "spark"

    @property
    def checkpoint(self) -> str:
        return str((self.checkpoint_dir or self.home / "checkpoints" / "stream").resolve())


@lru_cache
def get_settings() -> StreamSettings:
    return StreamSettings()
