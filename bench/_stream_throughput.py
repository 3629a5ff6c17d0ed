"""Phase (a) of bench/streaming.py: the streaming query in this process (`start_query(..., available_now=True)`)
over a topic holding the benchmark's events, with fresh lake and checkpoint per run. Per run: wall time from
`start_query` to termination, the time to the first batch, per-batch figures (`on_batch`, the query's progress
`durationMs`), and the time and Spark jobs of each step of `write_batch` (its module-level helpers wrapped for
the run; nothing of the job is changed)."""

import functools
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lake.tables import BRONZE, QUARANTINE, SILVER, table_uri
from streaming import job
from streaming.settings import StreamSettings

# The helpers `write_batch` calls, by the name it calls them (wrapped only if the module still has them).
STEPS = (
    "route",
    "_stats",
    "_failures_by_rule",
    "append_idempotent",
    "publish_failures",
    "known_ids",
    "insert_new",
)


@dataclass
class StepTimer:
    """Wall time and Spark jobs per `write_batch` step, summed over a run."""

    spark: SparkSession
    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)

    def _group_jobs(self) -> int:
        group = self.spark.sparkContext.getLocalProperty("spark.jobGroup.id")
        return len(self.spark.sparkContext.statusTracker().getJobIdsForGroup(group)) if group else 0

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            jobs = self._group_jobs()
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.calls[name] = self.calls.get(name, 0) + 1
                self.jobs[name] = self.jobs.get(name, 0) + self._group_jobs() - jobs

        return timed

    def install(self) -> Callable[[], None]:
        """Wrap the steps in `streaming.job`; returns the function that restores them."""
        originals = {name: getattr(job, name) for name in STEPS if callable(getattr(job, name, None))}
        for name, fn in originals.items():
            setattr(job, name, self.wrap(name, fn))

        def restore() -> None:
            for name, fn in originals.items():
                setattr(job, name, fn)

        return restore

    def summary(self) -> dict[str, Any]:
        return {
            name: {"seconds": round(self.seconds[name], 3), "calls": self.calls[name], "spark_jobs": self.jobs[name]}
            for name in self.seconds
        }


def count(spark: SparkSession, uri: str, distinct: str | None = None) -> int:
    df = spark.read.format("delta").load(uri)
    agg = F.countDistinct(distinct) if distinct else F.count(F.lit(1))
    return int(df.agg(agg).first()[0])  # type: ignore[index]


def run_once(
    spark: SparkSession,
    base: StreamSettings,
    contracts_dir: Path,
    work: Path,
    name: str,
    expected_distinct: int,
    expected_records: int,
) -> dict[str, Any]:
    """One run of the query over the whole topic; its figures and the reconciliation of its tables."""
    run_dir = work / name
    shutil.rmtree(run_dir, ignore_errors=True)
    settings = base.model_copy(
        update={
            "contracts_dir": contracts_dir,
            "lake_uri": str(run_dir / "lake"),
            "checkpoint_dir": run_dir / "checkpoint",
            "stream_app_id": f"bench-{name}",
        }
    )
    batches: list[dict[str, Any]] = []
    timer = StepTimer(spark)
    restore = timer.install()
    started = time.perf_counter()
    last = [started]

    def on_batch(result: job.BatchResult) -> None:
        now = time.perf_counter()
        batches.append(
            {
                "batch_id": result.batch_id,
                "records": result.bronze_rows,
                "silver": result.silver_rows,
                "quarantine": result.quarantine_rows,
                "failures_published": result.failures_published,
                "duplicates": result.duplicates,
                "ended_s": round(now - started, 3),
                "since_previous_s": round(now - last[0], 3),
            }
        )
        last[0] = now

    try:
        query: Any = job.start_query(spark, settings, available_now=True, on_batch=on_batch)
        query_started = time.perf_counter()
        query.awaitTermination()
        wall = time.perf_counter() - started
    finally:
        restore()
    if query.exception() is not None:
        raise RuntimeError(f"the streaming query failed: {query.exception()}")
    progress = {p.batchId: p for p in query.recentProgress}
    for entry in batches:
        p = progress.get(entry["batch_id"])
        if p is not None:
            entry["duration_ms"] = dict(p.durationMs)
            entry["processed_rows_per_s"] = round(p.processedRowsPerSecond or 0)
    lake = settings.lake
    silver = count(spark, table_uri(lake, SILVER))
    quarantine = count(spark, table_uri(lake, QUARANTINE))
    bronze = count(spark, table_uri(lake, BRONZE))
    silver_distinct = count(spark, table_uri(lake, SILVER), "event_id")
    records = sum(b["records"] for b in batches)
    first = batches[0]["ended_s"] if batches else None
    out = {
        "variant": name,
        "wall_s": round(wall, 3),
        "events_per_s": round(expected_records / wall),
        "setup_s": round(query_started - started, 3),  # contracts, table creation, query start
        "first_batch_s": first,  # from start_query to the end of the first batch's writes
        "after_first_batch_events_per_s": (
            round((records - batches[0]["records"]) / (wall - first)) if first and len(batches) > 1 else None
        ),
        "batches": len(batches),
        "records": records,
        "silver": silver,
        "quarantine": quarantine,
        "bronze": bronze,
        "reconciled": silver + quarantine == expected_distinct
        and silver_distinct == silver
        and bronze == expected_records,
        "steps": timer.summary(),
        "per_batch": batches,
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    return out
