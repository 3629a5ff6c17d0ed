"""Helpers of bench/commits.py: the variants it measures, a copy of the stream's micro-batch write whose appends
can skip the repartition (the `no_repartition` variant, and the step-by-step profile), and what it reads back
from the Delta logs (checkpoints written, new files per partition per commit) and from Spark's status store (the
jobs a batch ran, with their durations).

The copy (`write_plain`) does what `streaming.job.write_lanes` does for a batch that breaks no `fail` rule with
`check_tables=False`: one persisted two-lane DataFrame, the one aggregation of `streaming.job._stats`, then the
bronze append, the failures' publish (with the per-rule counts) and the silver and quarantine appends (each
idempotent by `txnAppId`/`txnVersion`), concurrently in threads, or in turn with each step timed (`profile`).
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench._stream_throughput import latest_version, new_files_by_partition

# The columns readers filter on (the stats worth keeping when Delta is told to keep fewer).
READER_COLUMNS = ("event_id", "event_type", "occurred_at", "received_at")


@dataclass(frozen=True)
class Variant:
    """A setting under test: session confs set around each of its batches, table properties set on its tables
    before the first measured batch, and whether its appends repartition by the partition columns first."""

    name: str
    conf: dict[str, str] = field(default_factory=dict)
    props: dict[str, str] = field(default_factory=dict)
    repartition: bool = True
    stats_columns: bool = False  # set delta.dataSkippingStatsColumns to READER_COLUMNS (those the table has)
    parallel: bool = True  # the writes in threads (`BatchTarget.parallel`), as the stream does

    def merged(self, other: "Variant", name: str) -> "Variant":
        return Variant(
            name,
            {**self.conf, **other.conf},
            {**self.props, **other.props},
            self.repartition and other.repartition,
            self.stats_columns or other.stats_columns,
            self.parallel and other.parallel,
        )


VARIANTS = {
    v.name: v
    for v in (
        Variant("baseline"),
        Variant("checkpoint_interval_100", props={"delta.checkpointInterval": "100"}),
        # Table properties (`DeltaConfigs`), not session confs: a first run with the session confs
        # `spark.databricks.delta.checkpoint.writeStatsAsJson/Struct` wrote checkpoints of the very same size.
        Variant(
            "checkpoint_stats_struct",
            props={"delta.checkpoint.writeStatsAsJson": "false", "delta.checkpoint.writeStatsAsStruct": "true"},
        ),
        Variant("stats_reader_columns", stats_columns=True),
        Variant("stats_indexed_cols_4", props={"delta.dataSkippingNumIndexedCols": "4"}),
        Variant("stats_collect_off", conf={"spark.databricks.delta.stats.collect": "false"}),
        Variant("no_repartition", repartition=False),
        Variant("shuffle_1", conf={"spark.sql.shuffle.partitions": "1"}),
        Variant("shuffle_4", conf={"spark.sql.shuffle.partitions": "4"}),
        Variant("aqe_off", conf={"spark.sql.adaptive.enabled": "false"}),
        Variant("sequential", parallel=False),
    )
}


def combine(names: list[str]) -> Variant:
    out = Variant("combined")
    for name in names:
        out = out.merged(VARIANTS[name], "combined")
    return out


def set_props(spark: SparkSession, uri: str, variant: Variant, columns: list[str]) -> None:
    props = dict(variant.props)
    if variant.stats_columns:
        props["delta.dataSkippingStatsColumns"] = ",".join(c for c in READER_COLUMNS if c in columns)
    if props:
        body = ", ".join(f"'{k}' = '{v}'" for k, v in props.items())
        spark.sql(f"ALTER TABLE delta.`{uri}` SET TBLPROPERTIES ({body})")


class Confs:
    """Session confs set for one batch and put back after it."""

    def __init__(self, spark: SparkSession, conf: dict[str, str]) -> None:
        self.spark, self.conf, self.saved = spark, conf, {}  # type: ignore[var-annotated]

    def __enter__(self) -> None:
        for k, v in self.conf.items():
            self.saved[k] = self.spark.conf.get(k, None)
            self.spark.conf.set(k, v)

    def __exit__(self, *_: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                self.spark.conf.unset(k)
            else:
                self.spark.conf.set(k, v)


def write_plain(
    batch: DataFrame, batch_id: int, target: Any, *, repartition: bool, profile: dict[str, float] | None = None
) -> None:
    """The stream's write of one batch (module docstring); `profile`: run the steps in turn, their seconds there."""
    from lake.publish import publish_failures
    from lake.routing import prepare, to_failure_messages, to_quarantine, to_silver
    from lake.tables import BRONZE, PARTITIONS, QUARANTINE, SILVER, append_idempotent, table_uri
    from lake.transforms import BRONZE_COLUMNS, mark_first
    from streaming import job
    from streaming.lanes import LANE, RECEIVED, ROUTED, batch_lanes

    def parts(name: str) -> list[str] | None:
        return PARTITIONS[name] if repartition else None

    lanes = batch_lanes(mark_first(prepare(batch, target.contracts))).persist()
    try:
        t = time.perf_counter()
        stats = job._stats(lanes)
        if profile is not None:
            profile["stats_aggregation"] = time.perf_counter() - t
        received = lanes.where(F.col(LANE) == RECEIVED).select(*BRONZE_COLUMNS)
        routed = lanes.where(F.col(LANE) == ROUTED)
        uri = {n: table_uri(target.lake, n) for n in (BRONZE, SILVER, QUARANTINE)}
        steps: dict[str, Callable[[], object]] = {
            "bronze_append": lambda: append_idempotent(
                received, uri[BRONZE], target.app_id, batch_id, partitions=parts(BRONZE)
            ),
            "failures_by_rule": lambda: job._failures_by_rule(routed),
            "failures_publish": lambda: publish_failures(
                to_failure_messages(routed), target.kafka_bootstrap, target.failures_topic
            ),
            "silver_append": lambda: append_idempotent(
                to_silver(routed), uri[SILVER], target.app_id, batch_id, partitions=parts(SILVER)
            ),
            "quarantine_append": lambda: append_idempotent(
                to_quarantine(routed), uri[QUARANTINE], target.app_id, batch_id, partitions=parts(QUARANTINE)
            ),
        }
        if not stats.failing:
            steps.pop("failures_by_rule"), steps.pop("failures_publish")
        if not stats.quarantine:
            steps.pop("quarantine_append")
        if profile is not None or not target.parallel:
            for name, step in steps.items():
                t = time.perf_counter()
                step()
                if profile is not None:
                    profile[name] = time.perf_counter() - t
            return
        with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="bench-write") as pool:
            futures = [pool.submit(step) for step in steps.values()]
            wait(futures)
        for future in futures:
            future.result()
    finally:
        lanes.unpersist()


def checkpoints(table: Path) -> set[int]:
    """The versions that have a checkpoint file."""
    return {int(p.name[:20]) for p in (table / "_delta_log").glob("*.checkpoint*.parquet")}


def files_per_partition(table: Path, first: int) -> dict[str, Any]:
    """New data files per touched partition in the commits from `first` on (max and mean over the commits)."""
    maxes, means, adds = [], [], 0
    for version in range(first, latest_version(table) + 1):
        counts = new_files_by_partition(table, version)
        if counts:
            adds += sum(counts.values())
            maxes.append(max(counts.values()))
            means.append(sum(counts.values()) / len(counts))
    return {
        "commits": len(maxes),
        "files_added": adds,
        "max_per_partition": max(maxes, default=0),
        "mean_per_partition": round(sum(means) / len(means), 3) if means else None,
    }


def spark_jobs(spark: SparkSession, since_job: int) -> list[dict[str, Any]]:
    """Jobs with an id above `since_job` from Spark's status store (kept with the UI off): id, name, seconds,
    tasks. Empty if the store cannot be read."""
    try:
        store = spark.sparkContext._jsc.sc().statusStore()
        seq = store.jobsList(None)
        out = []
        for i in range(seq.size()):
            j = seq.apply(i)
            if j.jobId() <= since_job:
                continue
            sub, done = j.submissionTime(), j.completionTime()
            secs = (done.get().getTime() - sub.get().getTime()) / 1000 if sub.isDefined() and done.isDefined() else None
            desc = j.description()
            name = desc.get() if desc.isDefined() else j.name()
            out.append({"job": j.jobId(), "name": str(name)[:120], "s": secs, "tasks": j.numTasks()})
        return sorted(out, key=lambda r: r["job"])
    except Exception as exc:  # a profile is optional
        return [{"error": repr(exc)[:200]}]


def last_job_id(spark: SparkSession) -> int:
    jobs = spark_jobs(spark, -1)
    return max((j["job"] for j in jobs if "job" in j), default=-1)
