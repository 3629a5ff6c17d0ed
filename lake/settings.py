"""The settings every Spark job of Weir reads from the environment (`WEIR_*`), whether stream or batch: where
the home, the lake, the contracts and the jars are, and the Spark session's size. `StreamSettings` and
`BatchSettings` extend it with their own."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.home import default_home
from ingest.topics import DQ_FAILURES_TOPIC


class LakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIR_", extra="ignore")

    home: Path = Field(default_factory=default_home)  # $WEIR_HOME, the same default as the CLI's
    lake_uri: str | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    failures_topic: str = DQ_FAILURES_TOPIC
    contracts_dir: Path | None = None
    spark_jars_dir: Path | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    shuffle_partitions: int = Field(default=2, ge=1)

    @property
    def lake(self) -> str:
        return self.lake_uri or str((self.home / "lake").resolve())

    @property
    def contracts(self) -> Path:
        return self.contracts_dir or Path(__file__).resolve().parents[1] / "contracts"

    @property
    def jars(self) -> Path:
        return self.spark_jars_dir or self.home / "jars" / "spark"
