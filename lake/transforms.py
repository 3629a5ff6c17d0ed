"""Pure DataFrame -> DataFrame transforms of Kafka records into envelope columns, shared by the stream
(`foreachBatch`) and batch jobs.

`parse_events` turns Kafka records into envelope columns, `envelope_failures` (the `envelope.*` rules a record
broke: not a JSON object of the envelope's types, a missing or malformed `event_id`, `event_type`,
`occurred_at` or `payload`, no gateway stamp) and `record_id` (the `event_id` when it is usable, else the Kafka
coordinates, so that every record has an identity). `mark_first` flags the first copy of each `record_id`;
`to_bronze` keeps every record as received.
"""

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, VariantType

from ingest.envelope import EVENT_ID_PATTERN, EVENT_TYPE_PATTERN, OCCURRED_AT_PATTERN
from quality.engines.spark.values import full_match

# `payload` is read as a VARIANT (any JSON value), so an object is told apart from a string that looks like one;
# `parse_events` keeps it (`PAYLOAD_VARIANT`, for the rules: parsed once) and its JSON text (`payload`).
ENVELOPE_SCHEMA = StructType(
    [
        StructField("event_id", StringType()),
        StructField("event_type", StringType()),
        StructField("schema_version", LongType()),
        StructField("occurred_at", StringType()),
        StructField("source", StringType()),
        StructField("key", StringType()),
        StructField("payload", VariantType()),
        StructField("tenant", StringType()),
        StructField("received_at", StringType()),
    ]
)
_CORRUPT = "_corrupt_record"
_PARSE_SCHEMA = StructType([*ENVELOPE_SCHEMA.fields, StructField(_CORRUPT, StringType())])

BRONZE_PARTITIONS = ["ingest_date"]
# Silver by `event_date` alone (issue #11, bench/layout.py): with `event_type` too, a micro-batch spread over a
# year wrote ~3x the files, and appends, the id check, scans and OPTIMIZE cost 2-4x more (docs/performance.md).
SILVER_PARTITIONS = ["event_date"]
QUARANTINE_PARTITIONS = ["event_date"]
FAILED_RULES = "failed_rules"
FAILED_RULES_TYPE = "array<struct<rule:string,severity:string,message:string>>"
PAYLOAD_VARIANT = "payload_variant"

# The envelope rules: (id, message). Their severity is always `quarantine`.
UNPARSEABLE = ("envelope.unparseable", "the record is not a JSON object with the envelope's field types")
ENVELOPE_RULES = {
    "event_id": ("envelope.event_id", "event_id is missing or not a lowercase hyphenated UUID"),
    "event_type": ("envelope.event_type", f"event_type is missing or does not match ^{EVENT_TYPE_PATTERN}$"),
    "occurred_at": ("envelope.occurred_at", "occurred_at is missing or not an RFC 3339 timestamp with an offset"),
    "payload": ("envelope.payload", "payload is missing or not a JSON object"),
    "stamp": ("envelope.stamp", "tenant or received_at is missing: the record did not come through the gateway"),
}


def failure(rule: str, message: str, severity: str = "quarantine") -> Column:
    """A one-element `failed_rules` array."""
    return F.array(
        F.struct(F.lit(rule).alias("rule"), F.lit(severity).alias("severity"), F.lit(message).alias("message"))
    )


def no_failures() -> Column:
    return F.array().cast(FAILED_RULES_TYPE)


def _matches(c: Column, pattern: str) -> Column:
    """`c` matches `pattern` as a whole (up to the absolute end: a trailing newline does not pass)."""
    return F.coalesce(full_match(c, pattern), F.lit(False))


def parse_events(kafka: DataFrame) -> DataFrame:
    """Kafka source rows (`key`, `value`, `topic`, `partition`, `offset`, `timestamp`, and the optional
    `batch_ts`) -> envelope columns (`payload` as JSON text, `PAYLOAD_VARIANT` as the parsed value), `raw` (the
    value as text), Kafka coordinates, `envelope_failures`, `envelope_ok`, `unparseable` and `record_id`."""
    raw = F.col("value").cast("string")
    env = F.from_json(raw, _PARSE_SCHEMA, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT})
    batch_ts = F.col("batch_ts") if "batch_ts" in kafka.columns else F.current_timestamp()
    parsed = kafka.select(
        env.alias("env"),
        raw.alias("raw"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        batch_ts.alias("batch_ts"),
    ).select(
        "env.event_id",
        "env.event_type",
        "env.schema_version",
        "env.source",
        "env.key",
        F.to_json(F.col("env.payload")).alias("payload"),
        F.col("env.payload").alias(PAYLOAD_VARIANT),
        "env.tenant",
        F.when(
            _matches(F.col("env.occurred_at"), OCCURRED_AT_PATTERN), F.try_to_timestamp(F.col("env.occurred_at"))
        ).alias("occurred_at"),
        F.try_to_timestamp(F.col("env.received_at")).alias("received_at"),
        "raw",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
        "batch_ts",
        (
            F.col("raw").isNull()
            | F.col(f"env.{_CORRUPT}").isNotNull()
            | ~F.coalesce(F.ltrim(F.col("raw")).startswith("{"), F.lit(False))
        ).alias("unparseable"),
    )
    id_ok = _matches(F.col("event_id"), EVENT_ID_PATTERN)
    checks = {
        "event_id": id_ok,
        "event_type": _matches(F.col("event_type"), EVENT_TYPE_PATTERN),
        "occurred_at": F.col("occurred_at").isNotNull(),
        # The text of a VARIANT object starts with `{`; a JSON string's with `"`, whatever it holds.
        "payload": F.coalesce(F.col("payload").startswith("{"), F.lit(False)),
        "stamp": F.col("tenant").isNotNull() & F.col("received_at").isNotNull(),
    }
    entries = [F.when(ok, no_failures()).otherwise(failure(*ENVELOPE_RULES[name])) for name, ok in checks.items()]
    envelope_failures = F.when(F.col("unparseable"), failure(*UNPARSEABLE)).otherwise(F.concat(*entries))
    coordinates = F.concat_ws("/", F.col("kafka_topic"), F.col("kafka_partition"), F.col("kafka_offset"))
    return (
        parsed.withColumn("envelope_failures", envelope_failures)
        .withColumn("envelope_ok", F.size("envelope_failures") == 0)
        .withColumn(
            "record_id",
            F.when(~F.col("unparseable") & id_ok, F.col("event_id")).otherwise(F.concat(F.lit("kafka:"), coordinates)),
        )
    )


def mark_first(parsed: DataFrame) -> DataFrame:
    """`is_first`: the first copy (earliest `received_at`, then Kafka position) of each `record_id` in the batch.
    Later copies are duplicates (a client's retry): they stay in bronze and go nowhere else."""
    first = Window.partitionBy("record_id").orderBy(
        F.col("received_at").asc_nulls_last(), "kafka_partition", "kafka_offset"
    )
    return parsed.withColumn("is_first", F.row_number().over(first) == 1)


# bronze's columns, in order (`to_bronze`).
BRONZE_COLUMNS = (
    "event_id",
    "event_type",
    "tenant",
    "received_at",
    "ingest_date",
    "raw",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "kafka_timestamp",
)


def to_bronze(parsed: DataFrame) -> DataFrame:
    """Every record as received, partitioned by the day it was received (UTC): `BRONZE_COLUMNS`."""
    ingest_date = F.to_date(F.coalesce(F.col("received_at"), F.col("kafka_timestamp"))).alias("ingest_date")
    return parsed.select(*(ingest_date if c == "ingest_date" else F.col(c) for c in BRONZE_COLUMNS))


def from_bronze(bronze: DataFrame, batch_ts: Column | None = None) -> DataFrame:
    """Bronze rows back in the shape of the Kafka source `parse_events` reads (the inverse of `to_bronze`: `value`
    is the raw record), with `batch_ts` (the batch jobs' one timestamp per run, which time rules compare with) when
    given. What a batch job re-routes from bronze is thus parsed exactly as the stream parsed it."""
    columns = [
        F.lit(None).cast("binary").alias("key"),
        F.col("raw").cast("binary").alias("value"),
        F.col("kafka_topic").alias("topic"),
        F.col("kafka_partition").alias("partition"),
        F.col("kafka_offset").alias("offset"),
        F.col("kafka_timestamp").alias("timestamp"),
        F.lit(0).alias("timestampType"),
    ]
    if batch_ts is not None:
        columns.append(batch_ts.cast("timestamp").alias("batch_ts"))
    return bronze.select(*columns)
