"""The streaming query itself, in-process, reading the real broker (availableNow trigger)."""

import uuid

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from ingest.topics import EVENTS_TOPIC
from streaming.job import start_query
from streaming.settings import StreamSettings
from streaming.tables import BRONZE, SILVER, table_uri
from tests.streaming.test_transforms import record
from weir.stack.lake import read_rows

pytestmark = pytest.mark.integration


def _end_offsets(bootstrap: str) -> str:
    """Spark's startingOffsets JSON for the topic's current ends: the query reads only what this test adds,
    whatever other tests left on the shared topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"offsets-{uuid.uuid4()}"})
    try:
        partitions = consumer.list_topics(EVENTS_TOPIC, timeout=10).topics[EVENTS_TOPIC].partitions
        ends = {
            str(p): consumer.get_watermark_offsets(TopicPartition(EVENTS_TOPIC, p), timeout=10)[1] for p in partitions
        }
    finally:
        consumer.close()
    return orjson.dumps({EVENTS_TOPIC: ends}).decode()


def test_the_query_moves_kafka_records_into_bronze_and_silver(spark, kafka_bootstrap, producer_factory, tmp_path):
    starting = _end_offsets(kafka_bootstrap)
    producer = producer_factory()
    wanted = [str(uuid.uuid4()) for _ in range(20)]
    for event_id in wanted:
        producer.produce(EVENTS_TOPIC, key=event_id.encode(), value=record(event_id=event_id))
    producer.produce(EVENTS_TOPIC, value=b"\x00not json")
    assert producer.flush(10) == 0

    settings = StreamSettings(
        home=tmp_path,
        kafka_bootstrap=kafka_bootstrap,
        spark_jars_dir=tmp_path / "unused",
        max_offsets_per_trigger=7,
        starting_offsets=starting,
    )
    for _ in range(2):  # the second run resumes from the checkpoint and finds nothing new
        query = start_query(spark, settings, available_now=True)
        assert query.awaitTermination(180), "the availableNow query did not finish in 180 s"
        assert query.exception() is None

    silver = read_rows(table_uri(settings.lake, SILVER))
    mine = [r for r in silver if r["event_id"] in set(wanted)]
    assert sorted(r["event_id"] for r in mine) == sorted(wanted)
    assert all(orjson.loads(r["payload"]) == {"amount": 1.5, "items": [1, 2]} for r in mine)
    bronze = read_rows(table_uri(settings.lake, BRONZE), ["event_id", "raw"])
    assert sum(r["event_id"] in set(wanted) for r in bronze) == 20
    assert any(r["raw"] is not None and r["raw"].endswith("not json") for r in bronze)
