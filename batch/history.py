"""Weir's own tables under `_weir/` in the lake: the sweeps' **metric history** (`_weir/metric_history`, one row
per sweep, table, event type and dataset rule: what the `anomaly` rule compares against) and the
**reconciliation ledger** (`_weir/reconciliation`, one row per sweep and checked hour of `received_at`). Both are
append-only Delta tables, created by their first append; their columns are documented in docs/batch/sweeps.md.

This module owns their schemas, the appends, and the reading of a rule's past values for `anomaly`."""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lake.tables import table_uri

METRIC_HISTORY = "_weir/metric_history"
RECONCILIATION = "_weir/reconciliation"
# How many past values of a rule's metric `anomaly` sees at most: the trailing window (oldest first).
ANOMALY_WINDOW = 30

HISTORY_SCHEMA = StructType(
    [
        StructField("sweep_id", StringType()),
        StructField("swept_at", TimestampType()),
        StructField("table", StringType()),
        StructField("event_type", StringType()),
        StructField("rule", StringType()),
        StructField("rule_type", StringType()),
        StructField("metric", StringType()),
        StructField("observed", DoubleType()),
        StructField("threshold", StringType()),
        StructField("passed", BooleanType()),
        StructField("severity", StringType()),
        StructField("message", StringType()),
        StructField("date_from", DateType()),
        StructField("date_to", DateType()),
        StructField("metric_date", DateType()),
    ]
)

LEDGER_SCHEMA = StructType(
    [
        StructField("sweep_id", StringType()),
        StructField("checked_at", TimestampType()),
        StructField("hour", TimestampType()),
        StructField("bronze", LongType()),
        StructField("silver", LongType()),
        StructField("quarantine", LongType()),
        StructField("missing", LongType()),
        StructField("ok", BooleanType()),
    ]
)


@dataclass(frozen=True)
class MetricRow:
    """One dataset rule's result in one sweep, as the history keeps it."""

    sweep_id: str
    swept_at: dt.datetime
    table: str
    event_type: str
    rule: str
    rule_type: str
    metric: str
    observed: float | None
    threshold: str
    passed: bool
    severity: str
    message: str
    date_from: dt.date | None
    date_to: dt.date | None

    @property
    def metric_date(self) -> dt.date | None:
        """The day the metric describes: set when the sweep covered exactly one `event_date`."""
        return self.date_from if self.date_from is not None and self.date_from == self.date_to else None


@dataclass(frozen=True)
class LedgerRow:
    """One checked hour of `received_at`: distinct ids in bronze against rows in silver and quarantine."""

    hour: dt.datetime
    bronze: int
    silver: int
    quarantine: int

    @property
    def missing(self) -> int:
        """Bronze ids in neither silver nor quarantine (negative: more rows there than ids in bronze)."""
        return self.bronze - self.silver - self.quarantine

    @property
    def ok(self) -> bool:
        return self.missing == 0


def _exists(spark: SparkSession, uri: str) -> bool:
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, uri))


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """Spark takes naive datetimes as session-local time (UTC in Weir's sessions)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def append_metrics(spark: SparkSession, lake: str, rows: Sequence[MetricRow]) -> None:
    """Append the sweep's results to the metric history (one commit)."""
    if not rows:
        return
    data = [
        (
            r.sweep_id,
            _naive_utc(r.swept_at),
            r.table,
            r.event_type,
            r.rule,
            r.rule_type,
            r.metric,
            r.observed,
            r.threshold,
            r.passed,
            r.severity,
            r.message,
            r.date_from,
            r.date_to,
            r.metric_date,
        )
        for r in rows
    ]
    df = spark.createDataFrame(data, HISTORY_SCHEMA).coalesce(1)
    df.write.format("delta").mode("append").option("mergeSchema", "true").save(table_uri(lake, METRIC_HISTORY))


def append_ledger(
    spark: SparkSession, lake: str, sweep_id: str, checked_at: dt.datetime, rows: Sequence[LedgerRow]
) -> None:
    """Append each checked hour to the reconciliation ledger (one commit)."""
    if not rows:
        return
    at = _naive_utc(checked_at)
    data = [(sweep_id, at, _naive_utc(r.hour), r.bronze, r.silver, r.quarantine, r.missing, r.ok) for r in rows]
    df = spark.createDataFrame(data, LEDGER_SCHEMA).coalesce(1)
    df.write.format("delta").mode("append").option("mergeSchema", "true").save(table_uri(lake, RECONCILIATION))


@dataclass(frozen=True)
class HistoryKey:
    """Which past values a rule's `anomaly` reads: the same table, event type and rule, and either the days
    before `metric_date` (one value a day, the latest sweep of that day) or, for a sweep over a range or the
    whole table, earlier sweeps over the same range (`metric_date` None)."""

    table: str
    event_type: str
    rule: str


def anomaly_history(
    spark: SparkSession,
    lake: str,
    keys: Iterable[HistoryKey],
    *,
    date_from: dt.date | None,
    date_to: dt.date | None,
    window: int = ANOMALY_WINDOW,
) -> dict[HistoryKey, list[float]]:
    """Past observed values per key, oldest first, at most `window` of them (the trailing window)."""
    wanted = list(dict.fromkeys(keys))
    uri = table_uri(lake, METRIC_HISTORY)
    if not wanted or not _exists(spark, uri):
        return {k: [] for k in wanted}
    one_day = date_from if date_from is not None and date_from == date_to else None
    df = spark.read.format("delta").load(uri).where(F.col("observed").isNotNull())
    df = df.where(F.col("rule").isin(*{k.rule for k in wanted}))
    if one_day is not None:
        df = df.where(F.col("metric_date") < F.lit(one_day))
    else:
        df = df.where(F.col("metric_date").isNull())
        df = df.where(_same_date(F.col("date_from"), date_from) & _same_date(F.col("date_to"), date_to))
    rows = df.select("table", "event_type", "rule", "metric_date", "swept_at", "observed").collect()
    by_key: dict[HistoryKey, dict[object, tuple[dt.datetime, float]]] = {k: {} for k in wanted}
    for r in rows:
        key = HistoryKey(r["table"], r["event_type"], r["rule"])
        if key not in by_key:
            continue
        # One value a day (the latest sweep of that day); range sweeps keep every sweep.
        slot: object = r["metric_date"] if one_day is not None else r["swept_at"]
        seen = by_key[key].get(slot)
        if seen is None or r["swept_at"] > seen[0]:
            by_key[key][slot] = (r["swept_at"], float(r["observed"]))
    return {k: [v for _slot, (_at, v) in sorted(values.items(), key=_order)][-window:] for k, values in by_key.items()}


def _order(item: tuple[object, tuple[dt.datetime, float]]) -> tuple[object, dt.datetime]:
    slot, (at, _value) = item
    return (slot, at)


def _same_date(column: Column, value: dt.date | None) -> Column:
    return column.isNull() if value is None else column == F.lit(value)


def read_table(spark: SparkSession, lake: str, name: str) -> list[Mapping[str, object]]:
    """Every row of one of Weir's tables (for tests and people), or nothing when it does not exist yet."""
    uri = table_uri(lake, name)
    if not _exists(spark, uri):
        return []
    return [r.asDict() for r in spark.read.format("delta").load(uri).collect()]
