"""The streaming query itself, in-process, reading the real broker (availableNow trigger)."""

import uuid

import orjson
import pytest

from ingest.admin import create_topics
from ingest.topics import TopicSpec
from streaming.job import start_query
from streaming.settings import StreamSettings
from streaming.tables import BRONZE, QUARANTINE, SILVER, table_uri
from tests.streaming.support import CONTRACTS_DIR, record
from weir.stack.lake import column, read_rows

pytestmark = pytest.mark.integration


def test_the_query_routes_kafka_records_into_bronze_silver_and_quarantine(
    spark, kafka_bootstrap, producer_factory, tmp_path
):
    topic = f"test.events.{uuid.uuid4().hex[:8]}"
    failures_topic = f"test.failures.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 2), TopicSpec(failures_topic, 1)])
    producer = producer_factory()
    wanted = [str(uuid.uuid4()) for _ in range(20)]
    for event_id in wanted:
        producer.produce(topic, key=event_id.encode(), value=record(event_id=event_id))
    producer.produce(topic, value=b"\x00not json")
    assert producer.flush(10) == 0

    settings = StreamSettings(
        home=tmp_path,
        kafka_bootstrap=kafka_bootstrap,
        spark_jars_dir=tmp_path / "unused",
        max_offsets_per_trigger=7,
        events_topic=topic,
        failures_topic=failures_topic,
        contracts_dir=CONTRACTS_DIR,
    )
    batches = []
    for _ in range(2):  # the second run resumes from the checkpoint and finds nothing new
        query = start_query(spark, settings, available_now=True, on_batch=batches.append)
        assert query.awaitTermination(180), "the availableNow query did not finish in 180 s"
        assert query.exception() is None

    assert len(batches) >= 3  # 21 records, at most 7 per trigger
    silver = read_rows(table_uri(settings.lake, SILVER))
    assert sorted(r["event_id"] for r in silver) == sorted(wanted)
    assert all(orjson.loads(r["payload"]) == {"amount": 1.5, "items": [1, 2]} for r in silver)
    bronze = read_rows(table_uri(settings.lake, BRONZE), ["event_id", "raw"])
    assert len(bronze) == 21
    [garbage] = column(table_uri(settings.lake, QUARANTINE), "raw")
    assert garbage == "\x00not json"
    assert sum(b.bronze_rows for b in batches) == 21


def test_the_write_app_id_belongs_to_the_checkpoint(tmp_path):
    """A reset checkpoint restarts batch ids at 0: a new txnAppId keeps Delta from skipping its appends."""
    from streaming.job import checkpoint_app_id

    first = StreamSettings(home=tmp_path, checkpoint_dir=tmp_path / "cp")
    assert checkpoint_app_id(first) == checkpoint_app_id(first)  # a restart keeps it
    assert checkpoint_app_id(first).startswith("weir-stream-")
    reset = StreamSettings(home=tmp_path, checkpoint_dir=tmp_path / "cp2")
    assert checkpoint_app_id(reset) != checkpoint_app_id(first)
