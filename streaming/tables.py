"""The Delta tables the stream writes: where they live, their creation, and the exactly-once writes.

bronze: an append per micro-batch made idempotent by `txnAppId`/`txnVersion` (a replayed batch is skipped).
silver: an insert-only MERGE on `event_id` (a replayed batch, or the same event posted again, inserts
nothing), restricted to the `event_date` partitions the batch touches so the MERGE does not scan the table.
"""

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from streaming.transforms import BRONZE_PARTITIONS, SILVER_PARTITIONS

BRONZE = "bronze/events"
SILVER = "silver/events"


def table_uri(lake: str, name: str) -> str:
    return f"{lake.rstrip('/')}/{name}"


def ensure_table(spark: SparkSession, uri: str, schema: StructType, partitions: list[str]) -> None:
    """Create the Delta table at `uri` with `schema` unless it exists."""
    from delta.tables import DeltaTable

    DeltaTable.createIfNotExists(spark).location(uri).addColumns(schema).partitionedBy(*partitions).execute()


def ensure_tables(spark: SparkSession, lake: str, bronze: StructType, silver: StructType) -> None:
    ensure_table(spark, table_uri(lake, BRONZE), bronze, BRONZE_PARTITIONS)
    ensure_table(spark, table_uri(lake, SILVER), silver, SILVER_PARTITIONS)


def append_idempotent(df: DataFrame, uri: str, app_id: str, version: int) -> None:
    """Append `df`, once: Delta skips a write whose (`txnAppId`, `txnVersion`) it has already committed."""
    (df.write.format("delta").mode("append").option("txnAppId", app_id).option("txnVersion", version).save(uri))


def merge_new_events(spark: SparkSession, df: DataFrame, uri: str) -> None:
    """Insert the rows of `df` whose `event_id` is not yet in the table (within their `event_date`)."""
    from delta.tables import DeltaTable

    dates = sorted({r[0] for r in df.select("event_date").distinct().collect() if r[0] is not None})
    if not dates:
        return
    in_dates = ", ".join(f"DATE'{d.isoformat()}'" for d in dates)
    condition = f"t.event_date IN ({in_dates}) AND t.event_date = s.event_date AND t.event_id = s.event_id"
    (DeltaTable.forPath(spark, uri).alias("t").merge(df.alias("s"), condition).whenNotMatchedInsertAll().execute())


def count_rows(spark: SparkSession, uri: str) -> int:
    return int(spark.read.format("delta").load(uri).agg(F.count(F.lit(1))).first()[0])  # type: ignore[index]
