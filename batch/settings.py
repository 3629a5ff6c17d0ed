"""Batch job settings from the environment (`WEIR_*`, the same names as the stream's); read once by
`get_settings()`."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.home import default_home
from ingest.topics import DQ_FAILURES_TOPIC


class BatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIR_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    lake_uri: str | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    failures_topic: str = DQ_FAILURES_TOPIC
    contracts_dir: Path | None = None
    spark_jars_dir: Path | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "4g"
    shuffle_partitions: int = Field(default=4, ge=1)
    # host:port of a Prometheus Pushgateway; each job pushes its metrics there when set.
    pushgateway: str | None = None
    # Compaction: the file size it packs to, and how long a partition must have gone unwritten to be closed.
    compact_target_file_mb: int = Field(default=128, ge=1)
    compact_min_files: int = Field(default=2, ge=2)
    # How many times a write that lost to a concurrent writer is computed again before the job gives up.
    conflict_retries: int = Field(default=5, ge=0)

    @property
    def lake(self) -> str:
        return self.lake_uri or str((self.home / "lake").resolve())

    @property
    def contracts(self) -> Path:
        return self.contracts_dir or Path(__file__).resolve().parents[1] / "contracts"

    @property
    def jars(self) -> Path:
        return self.spark_jars_dir or self.home / "jars" / "spark"


@lru_cache
def get_settings() -> BatchSettings:
    return BatchSettings()
