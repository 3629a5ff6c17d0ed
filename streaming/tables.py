"""The Delta tables the stream writes: where they live, their creation, and the exactly-once writes.

bronze: an append per micro-batch made idempotent by `txnAppId`/`txnVersion` (a replayed batch is skipped).
silver and quarantine: insert-only on the event's id (`insert_new`: a left anti join against the ids of the
`event_date` partitions the batch touches, then an append made idempotent like bronze's), so a replayed batch,
or the same event posted again, inserts nothing. An id already in the other table is left out too, so an event
is in silver or in quarantine, never both.
"""

from collections.abc import Iterable
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from streaming.transforms import BRONZE_PARTITIONS, QUARANTINE_PARTITIONS, SILVER_PARTITIONS

BRONZE = "bronze/events"
SILVER = "silver/events"
QUARANTINE = "quarantine/events"
PARTITIONS = {BRONZE: BRONZE_PARTITIONS, SILVER: SILVER_PARTITIONS, QUARANTINE: QUARANTINE_PARTITIONS}
# The id column of each deduplicated table.
KEYS = {SILVER: "event_id", QUARANTINE: "quarantine_id"}


def table_uri(lake: str, name: str) -> str:
    return f"{lake.rstrip('/')}/{name}"


def ensure_table(spark: SparkSession, uri: str, schema: StructType, partitions: list[str]) -> None:
    """Create the Delta table at `uri` with `schema` unless it exists."""
    from delta.tables import DeltaTable

    DeltaTable.createIfNotExists(spark).location(uri).addColumns(schema).partitionedBy(*partitions).execute()


def ensure_tables(spark: SparkSession, lake: str, schemas: dict[str, StructType]) -> None:
    """Create each table of `schemas` (name -> schema) that does not exist yet."""
    for name, schema in schemas.items():
        ensure_table(spark, table_uri(lake, name), schema, PARTITIONS[name])


def append_idempotent(df: DataFrame, uri: str, app_id: str, version: int) -> None:
    """Append `df`, once: Delta skips a write whose (`txnAppId`, `txnVersion`) it has already committed."""
    (
        df.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", version)
        # A column the code added since the table was created (an upgrade) is added to the table, not refused.
        .option("mergeSchema", "true")
        .save(uri)
    )


def _in_dates(column: str, dates: Iterable[date]) -> str:
    literals = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(dates))
    return f"{column} IN ({literals})"


def ids_in(spark: SparkSession, uri: str, key: str, dates: Iterable[date]) -> DataFrame:
    """The ids (`key`) a table holds in the `event_date` partitions `dates`."""
    return spark.read.format("delta").load(uri).where(_in_dates("event_date", dates)).select(F.col(key).alias("_id"))


def insert_new(
    spark: SparkSession,
    df: DataFrame,
    uri: str,
    key: str,
    dates: Iterable[date],
    *,
    app_id: str,
    version: int,
    exclude: Iterable[tuple[str, str]] = (),
) -> None:
    """Append the rows of `df` whose `key` is neither in the table (within `dates`, the batch's `event_date`s)
    nor in the `exclude` tables (`(uri, key)` pairs, same dates), once: the append carries `txnAppId`/`txnVersion`,
    so a replayed batch is skipped by Delta rather than checked again.

    This is an insert-only MERGE done by hand: a left anti join against the ids of the touched partitions, then
    an idempotent append (one Spark job and one commit instead of MERGE's nine or so jobs). It relies on the
    stream being the only writer of the table; a second writer (a backfill) will need an insert-only MERGE
    instead, whose conflict detection sees concurrent commits."""
    dates = [d for d in dates if d is not None]
    if not dates:
        return
    existing = ids_in(spark, uri, key, dates)
    for other_uri, other_key in exclude:
        existing = existing.unionByName(ids_in(spark, other_uri, other_key, dates))
    new = df.join(existing, df[key] == existing["_id"], "left_anti")
    append_idempotent(new, uri, app_id, version)


def count_rows(spark: SparkSession, uri: str) -> int:
    return int(spark.read.format("delta").load(uri).agg(F.count(F.lit(1))).first()[0])  # type: ignore[index]
