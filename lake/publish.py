"""Publishing to the DQ-failure topic from Spark: what the stream and the batch jobs share to put
`to_failure_messages` rows on Kafka."""

from pyspark.sql import DataFrame


def publish_failures(df: DataFrame, bootstrap: str, topic: str) -> None:
    """Write `key`/`value` rows to Kafka with acks=all; Spark's Kafka sink flushes and fails the job on a
    refused write, so `save()` returning means every message was acknowledged."""
    (
        df.write.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("kafka.acks", "all")
        .option("kafka.enable.idempotence", "true")
        .option("kafka.compression.type", "lz4")
        .option("topic", topic)
        .save()
    )
