"""The reconciliation a sweep checks (CONTRACT.md): for every hour of `received_at`, the distinct record ids in
bronze equal the rows in silver plus the rows in quarantine.

A record's id is the one the stream routes it by (`lake.transforms.record_id`): its `event_id` when the record
is a usable envelope, else its Kafka coordinates (`kafka:<topic>/<partition>/<offset>`, quarantine's
`quarantine_id`). Bronze does not store it, and a record's `event_id` column can be set even when the record
was unparseable (Spark keeps partial JSON results), so bronze's `raw` is parsed again with the stream's own
`parse_events`. A re-sent id counts in the hour of its first copy (the earliest `received_at`), as silver and
quarantine keep the first copy's `received_at`; over a date range, an id whose first copy came before the
range is left out (as are its rows in silver and quarantine, which carry that earlier hour). Records without
a `received_at` (they did not come through the gateway) have no hour and are not counted.

Hours that closed less than `SETTLE` ago are not checked: the stream may not have routed them yet."""

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from batch.exceptions import BatchError
from batch.history import LedgerRow
from lake.tables import BRONZE, PARTITIONS, QUARANTINE, SILVER, table_uri
from lake.transforms import from_bronze, parse_events

# How long after an hour ends before it is checked (the stream's trigger plus its commit, with room to spare).
SETTLE = dt.timedelta(minutes=10)
RECEIVED_AT = "received_at"
HOUR = "hour"


@dataclass(frozen=True)
class Reconciliation:
    """The checked hours (each with its counts) and the first hour not checked (`settled_before`)."""

    hours: list[LedgerRow]
    settled_before: dt.datetime

    @property
    def mismatches(self) -> list[LedgerRow]:
        return [h for h in self.hours if not h.ok]

    @property
    def missing(self) -> int:
        return sum(h.missing for h in self.mismatches)


def settled_before(now: dt.datetime, settle: dt.timedelta = SETTLE) -> dt.datetime:
    """The start of the first hour not checked: hours ending after `now - settle` are skipped (naive UTC)."""
    moment = (now.astimezone(dt.UTC) if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)) - settle
    return moment.replace(minute=0, second=0, microsecond=0, tzinfo=None)


def _load(spark: SparkSession, lake: str, name: str) -> DataFrame:
    from delta.tables import DeltaTable

    uri = table_uri(lake, name)
    if not DeltaTable.isDeltaTable(spark, uri):
        raise BatchError(f"no Delta table {name} at {uri}: has the stream written to this lake?")
    return spark.read.format("delta").load(uri)


def _date_partition(name: str, df: DataFrame) -> str | None:
    """The table's date-typed partition column (bronze's day of receipt), if its layout has one."""
    types = {f.name: f.dataType.typeName() for f in df.schema.fields}
    return next((c for c in PARTITIONS[name] if types.get(c) == "date"), None)


def reconcile(
    spark: SparkSession,
    lake: str,
    *,
    date_from: dt.date | None,
    date_to: dt.date | None,
    now: dt.datetime,
    settle: dt.timedelta = SETTLE,
) -> Reconciliation:
    """Counts per hour of `received_at` within [date_from, date_to] (UTC days; open ends for None) and before
    the settle time: one Spark job over the three tables."""
    hi = settled_before(now, settle)
    if date_to is not None:
        hi = min(hi, dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
    lo = dt.datetime.combine(date_from, dt.time()) if date_from is not None else None

    def window(df: DataFrame) -> DataFrame:
        ts = F.col(RECEIVED_AT)
        cond = ts < F.lit(hi)
        return df.where(cond if lo is None else cond & (ts >= F.lit(lo)))

    bronze = _load(spark, lake, BRONZE)
    day = _date_partition(BRONZE, bronze)
    pruned = bronze
    if day is not None:  # the day of receipt bounds received_at: lets Delta skip the other partitions
        pruned = pruned.where(F.col(day) <= F.lit(hi.date()))
        if date_from is not None:
            pruned = pruned.where(F.col(day) >= F.lit(date_from))
    ids = parse_events(from_bronze(window(pruned))).select("record_id", RECEIVED_AT)
    firsts = ids.groupBy("record_id").agg(F.min(RECEIVED_AT).alias(RECEIVED_AT))
    if lo is not None:
        earlier = bronze if day is None else bronze.where(F.col(day) < F.lit(date_from))
        earlier = earlier.where(F.col(RECEIVED_AT) < F.lit(lo)).select(F.col("event_id").alias("record_id"))
        firsts = firsts.join(earlier, "record_id", "left_anti")

    def per_hour(df: DataFrame, name: str) -> DataFrame:
        return df.groupBy(F.date_trunc("hour", F.col(RECEIVED_AT)).alias(HOUR)).agg(F.count(F.lit(1)).alias(name))

    counts = (
        per_hour(firsts, "bronze")
        .join(per_hour(window(_load(spark, lake, SILVER)), "silver"), HOUR, "full")
        .join(per_hour(window(_load(spark, lake, QUARANTINE)), "quarantine"), HOUR, "full")
        .fillna(0, ["bronze", "silver", "quarantine"])
    )
    hours = [
        LedgerRow(r[HOUR], int(r["bronze"]), int(r["silver"]), int(r["quarantine"]))
        for r in counts.where(F.col(HOUR).isNotNull()).collect()
    ]
    return Reconciliation(sorted(hours, key=lambda h: h.hour), hi)
