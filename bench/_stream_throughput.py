"""Phase (a) of bench/streaming.py: the streaming query in this process (`start_query(..., available_now=True)`)
over a topic holding the benchmark's events, with fresh lake and checkpoint per run. Per run: wall time from
`start_query` to termination, the time to the first batch, per-batch figures (`on_batch`, the query's progress
`durationMs`), and the time and Spark jobs of each step of `write_batch` (its module-level helpers wrapped for
the run; nothing of the job is changed)."""

import functools
import json
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


def latest_version(table: Path) -> int:
    """The table's latest commit version (-1 when there is none yet)."""
    log_dir = table / "_delta_log"
    versions = [int(p.name[:20]) for p in log_dir.glob("*.json") if p.name[:20].isdigit()] if log_dir.is_dir() else []
    return max(versions, default=-1)


def new_files_by_partition(table: Path, version: int) -> dict[str, int]:
    """The data files commit `version` of `table` added (`dataChange`), counted by partition (its values as JSON);
    empty when the commit file is gone."""
    path = table / "_delta_log" / f"{version:020d}.json"
    counts: dict[str, int] = {}
    if not path.is_file():
        return counts
    for line in path.read_text().splitlines():
        add = json.loads(line).get("add") if line.strip() else None
        if add and add.get("dataChange", True):
            key = json.dumps(add.get("partitionValues", {}), sort_keys=True)
            counts[key] = counts.get(key, 0) + 1
    return counts


def files_per_partition(table: Path, since_version: int) -> dict[str, Any]:
    """New data files per partition per commit after `since_version` (each commit of the stream is one batch's
    append; compaction commits, `dataChange` false, are left out), and data files per partition at the end."""
    import pyarrow as pa
    from deltalake import DeltaTable

    per_batch: list[tuple[int, float]] = []  # (max, mean) new files per touched partition, per commit
    for version in range(since_version + 1, latest_version(table) + 1):
        counts = new_files_by_partition(table, version)
        if counts:
            per_batch.append((max(counts.values()), sum(counts.values()) / len(counts)))
    adds = pa.table(DeltaTable(str(table)).get_add_actions(flatten=True)).to_pydict()
    parts = [k for k in adds if k.startswith("partition.")]
    paths = adds.get("path", [])
    end: dict[tuple[Any, ...], int] = {}
    for i in range(len(paths)):
        where = tuple(adds[k][i] for k in parts)
        end[where] = end.get(where, 0) + 1
    return {
        "commits_with_data": len(per_batch),
        "new_files_per_partition_per_batch_max": max((m for m, _ in per_batch), default=0),
        "new_files_per_partition_per_batch_mean": (
            round(sum(a for _, a in per_batch) / len(per_batch), 2) if per_batch else 0
        ),
        "partitions": len(end),
        "files": sum(end.values()),
        "files_per_partition_max": max(end.values(), default=0),
        "files_per_partition_mean": round(sum(end.values()) / len(end), 2) if end else 0,
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
        "files": {t.split("/")[0]: files_per_partition(Path(table_uri(lake, t)), 0) for t in (SILVER, QUARANTINE)},
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    return out
