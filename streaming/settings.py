"""Streaming job settings from the environment (`WEIR_*`); read once by `get_settings()`. What every Spark job
reads (home, lake, contracts, jars, session size) is `lake.settings.LakeSettings`'."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ingest.topics import EVENTS_TOPIC
from lake.settings import LakeSettings

# `weir stream --profile` (WEIR_STREAM_PROFILE): the knobs each profile sets, unless set explicitly (flag or
# environment). docs/performance.md has their measured figures.
PROFILES: dict[str, dict[str, float | int]] = {
    # Small batches started back to back: a record waits for at most one short batch before its own.
    "latency": {"trigger_seconds": 0.5, "max_offsets_per_trigger": 20_000},
    # Few, large batches: the per-batch costs (jobs, commits, files) spread over many records.
    "throughput": {"trigger_seconds": 10.0, "max_offsets_per_trigger": 1_000_000},
}


class StreamSettings(LakeSettings):
    stream_metrics_port: int = 9108
    trigger_seconds: float = Field(default=2.0, gt=0)
    max_offsets_per_trigger: int | None = Field(default=500_000, ge=1)
    starting_offsets: str = "earliest"
    checkpoint_dir: Path | None = None
    stream_app_id: str = "weir-stream"
    events_topic: str = EVENTS_TOPIC
    parallel_writes: bool = True
    # How the stream keeps silver and quarantine unique by id (docs/architecture.md, "Deduplication"): `state`,
    # Spark's deduplication state over a window of the stream's clock (its cost does not grow with the tables;
    # `weir dedupe` closes what arrives after the window), or `table`, every batch's ids checked against the
    # whole of both tables (exact at once for good; its cost grows with the tables).
    stream_dedupe: Literal["state", "table"] = "state"
    dedupe_window_seconds: int = Field(default=86_400, ge=2)
    stream_profile: Literal["latency", "throughput"] | None = None

    @model_validator(mode="after")
    def _apply_profile(self) -> "StreamSettings":
        for name, value in PROFILES.get(self.stream_profile or "", {}).items():
            if name not in self.model_fields_set:
                setattr(self, name, value)
        return self

    @property
    def checkpoint(self) -> str:
        return str((self.checkpoint_dir or self.home / "checkpoints" / "stream").resolve())


@lru_cache
def get_settings() -> StreamSettings:
    return StreamSettings()
