"""`weir compact`: bin-packing compaction of the closed partitions of bronze, silver and quarantine, then,
optionally, VACUUM. The plan (closed dates, candidates, predicates, the report) is `batch.compact_plan`; this
module reads the Delta log and runs OPTIMIZE.

- Candidates come from the table's current snapshot, read from the Delta log alone (`snapshot_files`: the
  snapshot's AddFile actions: partition values and sizes, exact, no data file opened).
- OPTIMIZE runs once per group of up to `GROUP_PARTITIONS` partitions, with a `where` naming exactly those
  partitions, `spark.databricks.delta.optimize.{max,min}FileSize` set to the target for the call only.
- Beside the stream: OPTIMIZE commits with `dataChange=false` and reads only the partitions it rewrites; the
  stream's commits are blind appends, which never conflict with it. A MERGE (backfill, replay, import) or another
  compaction of the same partitions can: the group is then retried, up to `conflict_retries` times, and
  `ConflictError` names the table and partitions when it still loses.
"""

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType

from batch.compact_plan import (
    MB,
    Candidate,
    CompactReport,
    TableResult,
    candidate,
    closed_before,
    groups,
    predicate,
    window,
)
from batch.exceptions import BadRangeError, ConflictError
from batch.progress import Progress
from batch.settings import BatchSettings
from lake.tables import BRONZE, PARTITIONS, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics

DEFAULT_TABLES = (BRONZE, SILVER, QUARANTINE)
DEFAULT_RETENTION_HOURS = 168.0
# Partitions per OPTIMIZE call: one call over many partitions is far faster than one per partition (see
# docs/batch/compaction.md), and a group is also what a conflict retries.
GROUP_PARTITIONS = 256
MAX_FILE_SIZE = "spark.databricks.delta.optimize.maxFileSize"
MIN_FILE_SIZE = "spark.databricks.delta.optimize.minFileSize"
RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
VACUUM_LOGGING = "spark.databricks.delta.vacuum.logging.enabled"
DISCOVERY_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def conflict_errors() -> tuple[type[BaseException], ...]:
    """Delta's concurrent-modification errors (as delta-spark's Python package converts them; they share no
    Python base class, so all are named)."""
    from delta import exceptions as e

    return (
        e.DeltaConcurrentModificationException,
        e.ConcurrentWriteException,
        e.MetadataChangedException,
        e.ProtocolChangedException,
        e.ConcurrentAppendException,
        e.ConcurrentDeleteReadException,
        e.ConcurrentDeleteDeleteException,
        e.ConcurrentTransactionException,
    )


def run(
    spark: SparkSession,
    settings: BatchSettings,
    metrics: JobMetrics,
    *,
    tables: Sequence[str] | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    vacuum: bool,
    retention_hours: float,
    allow_short_retention: bool,
    dry_run: bool,
    today: dt.date | None = None,
    group_partitions: int = GROUP_PARTITIONS,
) -> CompactReport:
    """Compact the closed partitions of `tables` (default: bronze, silver and quarantine) dated within
    `date_from`..`date_to` (inclusive, either open); then VACUUM each table when `vacuum`. `today` (UTC) is for
    tests."""
    names = list(tables or DEFAULT_TABLES)
    unknown = [n for n in names if n not in PARTITIONS]
    if unknown:
        raise BadRangeError(f"unknown table(s) {', '.join(unknown)}: choose from {', '.join(DEFAULT_TABLES)}")
    if vacuum:
        check_retention(retention_hours, allow_short_retention)
    day = today or dt.datetime.now(dt.UTC).date()
    lo, hi, notes = window(date_from, date_to, day)
    target = settings.compact_target_file_mb * MB
    results: list[TableResult] = []
    plans: list[tuple[TableResult, str, frozenset[str]]] = []
    with Progress("compact", total=0, unit="partitions") as progress:
        for name in names:
            started = time.monotonic()
            uri = table_uri(settings.lake, name)
            result = TableResult(name)
            results.append(result)
            if not is_table(spark, uri):
                result.note = f"no Delta table at {uri}"
                continue
            dates = date_columns(spark, uri, PARTITIONS[name])
            result.candidates = plan(spark, uri, PARTITIONS[name], dates, lo, hi, target, settings.compact_min_files)
            result.files_after, result.bytes_after = result.files_before, result.bytes_before
            result.seconds = time.monotonic() - started
            plans.append((result, uri, dates))
        report = CompactReport(
            results,
            dry_run,
            closed_before(day),
            settings.compact_min_files,
            settings.compact_target_file_mb,
            vacuum=vacuum,
            retention_hours=retention_hours if vacuum else None,
            notes=notes,
        )
        progress.total = sum(r.partitions for r in results)
        for result, uri, dates in plans:
            started = time.monotonic()
            if not dry_run:
                compact_table(spark, uri, result, dates, target, settings.conflict_retries, group_partitions, progress)
            else:
                progress.advance(result.partitions, what=result.table)
            if vacuum:
                result.vacuumed_files = run_vacuum(spark, uri, retention_hours, allow_short_retention, dry_run)
            result.seconds += time.monotonic() - started
        progress.summary(report.summary())
    record(metrics, results)
    if dry_run and not report.nothing_to_compact:
        metrics.mark_dry_run()  # its figures are a plan: they must not stand in for the last real compaction's
    return report


def check_retention(hours: float, allow_short: bool) -> None:
    if hours < 0:
        raise BadRangeError(f"--retention-hours {hours:g} is negative")
    if hours < DEFAULT_RETENTION_HOURS and not allow_short:
        raise BadRangeError(
            f"--retention-hours {hours:g} is below the {DEFAULT_RETENTION_HOURS:g}-hour (7-day) minimum: pass "
            "--allow-short-retention to VACUUM anyway (readers and streams still on older snapshots may then fail)"
        )


def is_table(spark: SparkSession, uri: str) -> bool:
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, uri))


def date_columns(spark: SparkSession, uri: str, partitions: Sequence[str]) -> frozenset[str]:
    """The partition columns of type date (from the table's schema in the log)."""
    schema = spark.read.format("delta").load(uri).schema
    return frozenset(f.name for f in schema.fields if f.name in partitions and isinstance(f.dataType, DateType))


def snapshot_files(spark: SparkSession, uri: str, partitions: Sequence[str]) -> DataFrame:
    """The files of the table's current snapshot: one row per file, its partition values (strings, as the log
    keeps them) and `size`. Read from the Delta log (checkpoint and commits), no data file opened: exact, and
    as fast on a year of data as on a day. Falls back, should the log API move, to the data files' `_metadata`
    (exact too, but it reads every row)."""
    from py4j.protocol import Py4JError

    try:
        jvm: Any = spark._jvm
        log = jvm.org.apache.spark.sql.delta.DeltaLog
        files = log.forTableWithSnapshot(spark._jsparkSession, uri)._2().allFiles().toDF()
        adds = DataFrame(files, spark)
        return adds.select(*[F.col("partitionValues")[c].alias(c) for c in partitions], F.col("size"))
    except Py4JError:
        table = spark.read.format("delta").load(uri)
        return (
            table.select("_metadata.file_path", "_metadata.file_size", *[F.col(c).cast("string") for c in partitions])
            .distinct()
            .select(*partitions, F.col("file_size").alias("size"))
        )


def plan(
    spark: SparkSession,
    uri: str,
    partitions: Sequence[str],
    dates: frozenset[str],
    lo: dt.date | None,
    hi: dt.date,
    target: int,
    min_files: int,
) -> list[Candidate]:
    """The closed partitions of the table within `lo`..`hi` that packing would compact, oldest first. A partition
    with no date (a record whose date could not be read) is never closed: the stream may add to it any time."""
    files = snapshot_files(spark, uri, partitions)
    [date] = [c for c in partitions if c in dates][:1] or [partitions[0]]
    day = F.to_date(F.col(date))
    files = files.where(day.isNotNull() & (day <= F.lit(hi)))
    if lo is not None:
        files = files.where(day >= F.lit(lo))
    rows = files.groupBy(*partitions).agg(F.collect_list("size").alias("sizes")).collect()
    found: list[Candidate] = []
    for row in rows:
        values: dict[str, str | None] = {c: row[c] for c in partitions}
        made = candidate(
            values, dt.date.fromisoformat(str(row[date])), row["sizes"], target=target, min_files=min_files
        )
        if made is not None:
            found.append(made)
    return sorted(found, key=lambda c: (c.date, c.name))


@contextmanager
def spark_conf(spark: SparkSession, values: Mapping[str, str]) -> Iterator[None]:
    """Set these session settings for the block, then restore each (unset what was unset)."""
    before = {k: spark.conf.get(k, None) for k in values}
    for k, v in values.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, old in before.items():
            if old is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, old)


def retrying(
    work: Callable[[], Any], retries: int, describe: Callable[[BaseException], str], *, pause: float = 0.5
) -> Any:
    """`work()`, again after each concurrent-modification error (after `pause` s, doubling), `retries` times at
    most; then ConflictError."""
    errors = conflict_errors()
    for attempt in range(retries + 1):
        try:
            return work()
        except errors as exc:
            if attempt == retries:
                raise ConflictError(describe(exc)) from exc
            time.sleep(min(pause * 2**attempt, 5.0))
    raise AssertionError("unreachable")


def compact_table(
    spark: SparkSession,
    uri: str,
    result: TableResult,
    dates: frozenset[str],
    target: int,
    retries: int,
    group_partitions: int,
    progress: Progress,
) -> None:
    """OPTIMIZE the table's candidates, a group at a time; `result`'s after-figures from OPTIMIZE's metrics."""
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, uri)
    sizes = {MAX_FILE_SIZE: str(target), MIN_FILE_SIZE: str(target)}
    with spark_conf(spark, sizes):
        for group in groups(result.candidates, group_partitions):
            where = predicate(group, dates)

            def optimize(where: str = where) -> Any:
                return table.optimize().where(where).executeCompaction().select("metrics").first()

            def describe(exc: BaseException, group: list[Candidate] = group) -> str:
                names = ", ".join(c.name for c in group)
                return (
                    f"{result.table}: compaction of {len(group)} partition(s) ({names}) lost to concurrent writers "
                    f"{retries + 1} times (a backfill, replay, import or another compaction?): "
                    f"{type(exc).__name__}; run again when they are done"
                )

            row = retrying(optimize, retries, describe)
            m = row["metrics"]
            result.files_removed += m["numFilesRemoved"]
            result.files_added += m["numFilesAdded"]
            progress.advance(len(group), what=result.table)
    # The after-figures from the log: OPTIMIZE may have taken in files the stream appended since the plan.
    wanted = {c.values for c in result.candidates}
    after = snapshot_files(spark, uri, PARTITIONS[result.table])
    counted = after.groupBy(*PARTITIONS[result.table]).agg(F.count("*").alias("n"), F.sum("size").alias("b"))
    now = [r for r in counted.collect() if tuple((c, r[c]) for c in PARTITIONS[result.table]) in wanted]
    result.files_after = sum(int(r["n"]) for r in now)
    result.bytes_after = sum(int(r["b"]) for r in now)


def run_vacuum(spark: SparkSession, uri: str, hours: float, allow_short: bool, dry_run: bool) -> int:
    """VACUUM the table (or, in a dry run, count what it would delete); the number of files deleted."""
    from delta.tables import DeltaTable

    conf = {DISCOVERY_PARALLELISM: "4", VACUUM_LOGGING: "true"}
    if allow_short and hours < DEFAULT_RETENTION_HOURS:
        conf[RETENTION_CHECK] = "false"
    with spark_conf(spark, conf), console_to_stderr(spark):
        if dry_run:
            path = uri.replace("`", "``")
            return spark.sql(f"VACUUM delta.`{path}` RETAIN {hours} HOURS DRY RUN").count()
        table = DeltaTable.forPath(spark, uri)
        last = table.history(1).select("version").first()
        before = int(last["version"]) if last is not None else -1
        table.vacuum(hours)
        ends = (
            table.history()
            .where((F.col("version") > before) & (F.col("operation") == "VACUUM END"))
            .select(F.col("operationMetrics")["numDeletedFiles"].alias("n"))
            .collect()
        )
        return sum(int(r["n"] or 0) for r in ends)


@contextmanager
def console_to_stderr(spark: SparkSession) -> Iterator[None]:
    """VACUUM prints "Deleted n files ..." with Scala's `println`, which would land on the process's stdout (the
    JVM shares it) and break `--json`'s one object there. Scala's console is a per-thread variable: point this
    thread's at the JVM's stderr for the block. Best effort: if the JVM's internals differ, nothing is changed."""
    from py4j.protocol import Py4JError

    try:
        jvm: Any = spark._jvm
        cls = jvm.java.lang.Class.forName("scala.Console$")
        field = cls.getDeclaredField("outVar")
        field.setAccessible(True)
        var = field.get(cls.getField("MODULE$").get(None))
        old = var.value()
        getattr(var, "value_$eq")(jvm.java.lang.System.err)
    except Py4JError:
        yield
        return
    try:
        yield
    finally:
        getattr(var, "value_$eq")(old)
        sys.stderr.flush()


def record(metrics: JobMetrics, results: Sequence[TableResult]) -> None:
    for r in results:
        metrics.files.labels(r.table, "before").set(r.files_before)
        metrics.files.labels(r.table, "after").set(r.files_after)
        metrics.bytes.labels(r.table, "before").set(r.bytes_before)
        metrics.bytes.labels(r.table, "after").set(r.bytes_after)
        metrics.partitions.labels(r.table).set(r.partitions)
