"""streaming.lanes.batch_timestamp on real Spark: the batch's instant, in code that stays the same from one
batch to the next (a TIMESTAMP literal would be inlined into the generated source and compiled again)."""

import time
from typing import Any

import pytest
from pyspark.sql import functions as F

from streaming.lanes import batch_timestamp

pytestmark = pytest.mark.integration


def kafka_rows(spark: Any) -> Any:
    """Rows with Kafka's `topic` and `offset`, from `range` (generated code; a local relation would be evaluated
    by the optimizer instead)."""
    return spark.range(50).select(
        F.col("id").alias("offset"), F.concat(F.lit("weir.events.v"), F.col("id").cast("string")).alias("topic")
    )


def compiles_of_second_run(spark: Any, batch_ts: Any) -> int:
    """Janino compilations when the same plan is run again a moment later (another `current_timestamp()`)."""
    metric = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()

    def run() -> None:
        df = kafka_rows(spark).withColumn("batch_ts", batch_ts)
        # a time rule's shape: a row's value compared with the batch's instant minus a window
        row_ts = F.timestamp_micros(F.col("offset"))
        df.select((row_ts > F.col("batch_ts") - F.expr("INTERVAL 400 DAYS")).alias("ok")).collect()

    run()
    time.sleep(0.01)
    before = metric.getCount()
    run()
    return int(metric.getCount() - before)


def test_it_is_the_querys_current_timestamp_for_every_row(spark: Any) -> None:
    rows = kafka_rows(spark).select(batch_timestamp().alias("b"), F.current_timestamp().alias("now")).collect()
    assert {r["b"] for r in rows} == {rows[0]["now"]}


def test_its_code_is_not_compiled_again_for_the_next_instant(spark: Any) -> None:
    # the compile counter is the JVM's: a query another test left running would compile beside this one
    assert not spark.streams.active, "a streaming query is still running in the session"
    assert compiles_of_second_run(spark, F.current_timestamp()) > 0  # what the stream had: a new class a batch
    assert compiles_of_second_run(spark, batch_timestamp()) == 0
