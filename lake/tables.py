"""The Delta tables the stream writes: where they live, their creation, and the exactly-once writes.

bronze: an append per micro-batch made idempotent (a replayed batch is skipped): by `txnAppId`/`txnVersion` here,
by `lake.appends.RunAppends` in a streaming run.
silver and quarantine: insert-only on the event's id. `known_ids` finds which of a batch's ids either table
already holds, reading the whole of each table's key column (an id is unique whatever its `event_date`); each
insert (`insert_new`) leaves those out and appends what remains with the same idempotent-write options as bronze.
So a replayed batch, or the same event posted again any time later, inserts nothing, and an event is in silver
or in quarantine, never both.
"""

from collections.abc import Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lake.appends import append
from lake.transforms import BRONZE_PARTITIONS, QUARANTINE_PARTITIONS, SILVER_PARTITIONS

BRONZE = "bronze/events"
SILVER = "silver/events"
QUARANTINE = "quarantine/events"
PARTITIONS = {BRONZE: BRONZE_PARTITIONS, SILVER: SILVER_PARTITIONS, QUARANTINE: QUARANTINE_PARTITIONS}
# The id column of each deduplicated table.
KEYS = {SILVER: "event_id", QUARANTINE: "quarantine_id"}
# The one column of an id set (`known_ids`' input and output).
ID = "_id"


def table_uri(lake: str, name: str) -> str:
    return f"{lake.rstrip('/')}/{name}"


# Table properties a new table gets. A checkpoint every 100 commits, not Delta's 10: the stream commits to each
# table every batch, and the checkpoint is written synchronously by the commit that reaches the interval, so with
# 10 every tenth micro-batch took +4-7 s (2,000-event batches, two cores; docs/performance.md, issue #12). The
# price: a reader building a fresh snapshot reads up to 99 commit files instead of 9. Existing tables keep theirs:
# `ALTER TABLE delta.`<uri>` SET TBLPROPERTIES ('delta.checkpointInterval' = '100')` (a metadata commit; run it
# with nothing else writing).
TABLE_PROPERTIES = {"delta.checkpointInterval": "100"}


def ensure_table(spark: SparkSession, uri: str, schema: StructType, partitions: list[str]) -> None:
    """Create the Delta table at `uri` with `schema` and `TABLE_PROPERTIES` unless it exists."""
    from delta.tables import DeltaTable

    builder = DeltaTable.createIfNotExists(spark).location(uri).addColumns(schema).partitionedBy(*partitions)
    for key, value in TABLE_PROPERTIES.items():
        builder = builder.property(key, value)
    builder.execute()


def ensure_tables(spark: SparkSession, lake: str, schemas: dict[str, StructType]) -> None:
    """Create each table of `schemas` (name -> schema) that does not exist yet."""
    for name, schema in schemas.items():
        ensure_table(spark, table_uri(lake, name), schema, PARTITIONS[name])


def append_idempotent(
    df: DataFrame, uri: str, app_id: str, version: int, *, partitions: list[str] | None = None
) -> None:
    """Append `df`, once: Delta skips a write whose (`txnAppId`, `txnVersion`) it has already committed (a state
    lookup per append; a streaming run uses `lake.appends.RunAppends`, which needs it once per run). `partitions`:
    as `lake.appends.append`'s."""
    append(df, uri, partitions=partitions, txn=(app_id, version))


def known_ids(spark: SparkSession, candidates: DataFrame, tables: Iterable[tuple[str, str]]) -> DataFrame:
    """The ids of `candidates` (one column, `ID`) that any of `tables` (`(uri, key column)` pairs) already holds.

    Every file of each table is read, its key column only (Parquet column pruning; `event_date` does not say
    where an id is, since a re-sent event may carry another `occurred_at`). The candidates, a micro-batch's ids,
    are broadcast and each table's ids are probed against them as they are read (a broadcast hash semi join): the
    table is never shuffled, and what comes out is only the ids already there (re-sent or replayed events)."""
    wanted = F.broadcast(candidates.select(ID))
    found: DataFrame | None = None
    for uri, key in tables:
        ids = spark.read.format("delta").load(uri).select(F.col(key).alias(ID)).join(wanted, ID, "left_semi")
        found = ids if found is None else found.unionByName(ids)
    if found is None:
        raise ValueError("known_ids needs at least one table")
    return found


def insert_new(
    df: DataFrame,
    uri: str,
    key: str,
    known: DataFrame,
    *,
    app_id: str,
    version: int,
    partitions: list[str] | None = None,
) -> None:
    """Append the rows of `df` whose `key` is not in `known` (from `known_ids`), once: the append carries
    `txnAppId`/`txnVersion`, so a replayed batch is skipped by Delta rather than checked again.

    An insert-only MERGE done by hand: a left anti join against the (broadcast) known ids, then an idempotent
    append: one Spark job and one commit instead of a MERGE's nine or so. The known ids were read before the
    append and the append is blind (it records no read), so this is exact only while the stream is the only
    writer of the table; a second writer (a backfill) needs an insert-only MERGE, whose conflict detection sees
    concurrent commits."""
    append_idempotent(without_known(df, key, known), uri, app_id, version, partitions=partitions)


def without_known(df: DataFrame, key: str, known: DataFrame) -> DataFrame:
    """The rows of `df` whose `key` is not in `known` (from `known_ids`): a left anti join against the broadcast
    known ids."""
    ids = F.broadcast(known)
    return df.join(ids, df[key] == ids[ID], "left_anti")


def count_rows(spark: SparkSession, uri: str) -> int:
    return int(spark.read.format("delta").load(uri).agg(F.count(F.lit(1))).first()[0])  # type: ignore[index]
