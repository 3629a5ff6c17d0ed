"""Batch job settings from the environment (`WEIR_*`, the same names as the stream's); read once by
`get_settings()`."""

from functools import lru_cache

from pydantic import Field

from lake.settings import LakeSettings


class BatchSettings(LakeSettings):
    spark_driver_memory: str = "4g"
    shuffle_partitions: int = Field(default=4, ge=1)
    # host:port of a Prometheus Pushgateway; each job pushes its metrics there when set.
    pushgateway: str | None = None
    # Compaction: the file size it packs to, and how many files a closed partition needs to be worth packing.
    compact_target_file_mb: int = Field(default=128, ge=1)
    compact_min_files: int = Field(default=2, ge=2)
    # How many times a write that lost to a concurrent writer is computed again before the job gives up.
    conflict_retries: int = Field(default=5, ge=0)


@lru_cache
def get_settings() -> BatchSettings:
    return BatchSettings()
