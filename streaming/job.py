"""Entry point of the streaming job (`weir stream`): Kafka -> bronze and silver Delta tables.

Each micro-batch is written by `write_batch` inside `foreachBatch`: bronze with an idempotent append, silver
with an insert-only MERGE, so a batch replayed after a crash commits nothing twice. On SIGTERM or SIGINT the
job lets the running trigger finish, then stops the query and exits 0; a restart resumes from the checkpoint.
"""

import logging
import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType

from prometheus_client import start_http_server
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from ingest.topics import EVENTS_TOPIC
from observability.metrics import (
    STREAM_BATCH_SECONDS,
    STREAM_BATCHES,
    STREAM_LAST_BATCH_TIMESTAMP,
    STREAM_ROWS,
)
from streaming.session import build_session
from streaming.settings import StreamSettings, get_settings
from streaming.tables import BRONZE, SILVER, append_idempotent, ensure_tables, merge_new_events, table_uri
from streaming.transforms import parse_events, to_bronze, to_silver

log = logging.getLogger(__name__)

KAFKA_SOURCE_SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("timestamp", TimestampType()),
        StructField("timestampType", IntegerType()),
    ]
)


def _nullable(schema: StructType) -> StructType:
    return StructType([StructField(f.name, f.dataType, True) for f in schema.fields])


def table_schemas(spark: SparkSession) -> tuple[StructType, StructType]:
    """bronze and silver schemas, derived from the transforms themselves."""
    empty = parse_events(spark.createDataFrame([], KAFKA_SOURCE_SCHEMA))
    return _nullable(to_bronze(empty).schema), _nullable(to_silver(empty).schema)


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    bronze_rows: int
    silver_candidates: int


def write_batch(batch: DataFrame, batch_id: int, *, lake: str, app_id: str) -> BatchResult:
    """One micro-batch (or a batch replay) into bronze and silver, each write exactly once."""
    started = time.perf_counter()
    parsed = parse_events(batch).persist()
    try:
        row = parsed.agg(F.count(F.lit(1)), F.sum(F.col("envelope_ok").cast("long"))).first()
        total, ok = (int(row[0]), int(row[1] or 0)) if row else (0, 0)
        if total:
            append_idempotent(to_bronze(parsed), table_uri(lake, BRONZE), app_id, batch_id)
            if ok:
                merge_new_events(batch.sparkSession, to_silver(parsed), table_uri(lake, SILVER))
    finally:
        parsed.unpersist()
    STREAM_BATCHES.inc()
    STREAM_ROWS.labels("bronze").inc(total)
    STREAM_ROWS.labels("silver_candidates").inc(ok)
    STREAM_BATCH_SECONDS.observe(time.perf_counter() - started)
    STREAM_LAST_BATCH_TIMESTAMP.set(time.time())
    return BatchResult(batch_id, total, ok)


def start_query(spark: SparkSession, settings: StreamSettings, *, available_now: bool = False) -> object:
    """Start the streaming query (returned as pyspark's StreamingQuery)."""
    bronze_schema, silver_schema = table_schemas(spark)
    ensure_tables(spark, settings.lake, bronze_schema, silver_schema)
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", EVENTS_TOPIC)
        .option("startingOffsets", settings.starting_offsets)
        .option("failOnDataLoss", "true")
    )
    if settings.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
    lake, app_id = settings.lake, settings.stream_app_id

    def each_batch(batch: DataFrame, batch_id: int) -> None:
        result = write_batch(batch, batch_id, lake=lake, app_id=app_id)
        log.info(
            "batch %d: %d rows to bronze, %d candidates for silver",
            batch_id,
            result.bronze_rows,
            result.silver_candidates,
        )

    writer = (
        reader.load()
        .writeStream.queryName("weir-events")
        .option("checkpointLocation", settings.checkpoint)
        .foreachBatch(each_batch)
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
    )
    return writer.start()
