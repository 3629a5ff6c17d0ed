"""Pure DataFrame -> DataFrame transforms, shared by the stream (`foreachBatch`) and batch jobs.

`parse_events` turns Kafka records into envelope columns plus an `envelope_ok` flag; `to_bronze` keeps every
record as received; `to_silver` keeps the well-formed events, one row per `event_id`.
"""

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

# `payload` is read as a string: Spark keeps an object's raw JSON text for a string-typed field.
ENVELOPE_SCHEMA = StructType(
    [
        StructField("event_id", StringType()),
        StructField("event_type", StringType()),
        StructField("schema_version", LongType()),
        StructField("occurred_at", StringType()),
        StructField("source", StringType()),
        StructField("key", StringType()),
        StructField("payload", StringType()),
        StructField("tenant", StringType()),
        StructField("received_at", StringType()),
    ]
)

BRONZE_PARTITIONS = ["ingest_date"]
SILVER_PARTITIONS = ["event_date", "event_type"]
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_EVENT_TYPE = r"^[a-z][a-z0-9_.-]{0,127}$"


def _ts(c: Column) -> Column:
    return F.try_to_timestamp(c)


def parse_events(kafka: DataFrame) -> DataFrame:
    """Kafka source rows (`key`, `value`, `topic`, `partition`, `offset`, `timestamp`) -> envelope columns,
    `raw` (the value as text), Kafka coordinates, and `envelope_ok`."""
    raw = F.col("value").cast("string")
    env = F.from_json(raw, ENVELOPE_SCHEMA)
    parsed = kafka.select(
        env.alias("env"),
        raw.alias("raw"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
    ).select(
        "env.event_id",
        "env.event_type",
        "env.schema_version",
        "env.source",
        "env.key",
        "env.payload",
        "env.tenant",
        _ts(F.col("env.occurred_at")).alias("occurred_at"),
        _ts(F.col("env.received_at")).alias("received_at"),
        "raw",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
    )
    ok = (
        F.coalesce(F.col("event_id").rlike(_UUID), F.lit(False))
        & F.coalesce(F.col("event_type").rlike(_EVENT_TYPE), F.lit(False))
        & F.col("occurred_at").isNotNull()
        & F.col("received_at").isNotNull()
        & F.col("tenant").isNotNull()
        & F.coalesce(F.col("payload").startswith("{"), F.lit(False))
    )
    return parsed.withColumn("envelope_ok", ok)


def to_bronze(parsed: DataFrame) -> DataFrame:
    """Every record as received, partitioned by the day it was received (UTC)."""
    return parsed.select(
        "event_id",
        "event_type",
        "tenant",
        "received_at",
        F.to_date(F.coalesce(F.col("received_at"), F.col("kafka_timestamp"))).alias("ingest_date"),
        "raw",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
    )


def to_silver(parsed: DataFrame) -> DataFrame:
    """Well-formed events, one row per `event_id` (the first received), partitioned by `event_date`
    (from `occurred_at`, UTC) and `event_type`."""
    first = Window.partitionBy("event_id").orderBy("received_at", "kafka_partition", "kafka_offset")
    return (
        parsed.where("envelope_ok")
        .withColumn("_n", F.row_number().over(first))
        .where("_n = 1")
        .select(
            "event_id",
            "event_type",
            F.coalesce("schema_version", F.lit(1)).alias("schema_version"),
            "occurred_at",
            "source",
            "key",
            "payload",
            "tenant",
            "received_at",
            F.to_date("occurred_at").alias("event_date"),
            "kafka_partition",
            "kafka_offset",
        )
    )
