"""The stream's deduplication state (`streaming.lanes`, the default `state` mode), through the real query on a
real broker: a copy received within the window is dropped, in a later batch and across a restart, whatever its
verdict; a copy received after the window is inserted again, and `weir dedupe` (batch.dedupe) makes silver unique
for good."""

import datetime as dt
import time
import uuid
from typing import Any

import pytest

from batch.dedupe import run as dedupe
from batch.settings import BatchSettings
from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.tables import BRONZE, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics
from streaming.job import BatchResult, source_reads, start_query
from streaming.listener import ProgressFigures, progress_figures
from streaming.settings import StreamSettings
from tests.streaming.support import CONTRACTS_DIR, record, stream_settings
from weir.stack.lake import column

pytestmark = pytest.mark.integration


def received(minutes: int) -> str:
    at = dt.datetime(2026, 11, 25, 0, 0, 1) + dt.timedelta(minutes=minutes)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Stream:
    def __init__(self, spark: Any, producer: Any, settings: StreamSettings) -> None:
        self.spark, self.producer, self.settings = spark, producer, settings
        self.batches: list[BatchResult] = []
        self.progress: list[ProgressFigures] = []

    def send(self, *values: bytes) -> None:
        for value in values:
            self.producer.produce(self.settings.events_topic, value=value, partition=0)
        assert self.producer.flush(10) == 0

    def run(self) -> None:
        """One start of the query (from its checkpoint) that reads what is there and stops: a restart each time."""
        query = start_query(self.spark, self.settings, available_now=True, on_batch=self.batches.append)
        assert query.awaitTermination(180), "the availableNow query did not finish in 180 s"
        assert query.exception() is None
        self.progress = [progress_figures(p, source_reads(self.settings)) for p in query.recentProgress]

    def ids(self, table: str, key: str = "event_id") -> list[str]:
        return sorted(column(table_uri(self.settings.lake, table), key))


@pytest.fixture
def stream_factory(spark, kafka_bootstrap, producer_factory, tmp_path):
    def factory(**extra: Any) -> Stream:
        topic, failures = f"test.events.{uuid.uuid4().hex[:8]}", f"test.failures.{uuid.uuid4().hex[:8]}"
        create_topics(kafka_bootstrap, [TopicSpec(topic, 1), TopicSpec(failures, 1)])
        return Stream(spark, producer_factory(), stream_settings(tmp_path, kafka_bootstrap, topic, failures, **extra))

    return factory


def test_copies_within_the_window_are_dropped_in_later_batches_and_across_restarts(stream_factory):
    stream = stream_factory(max_offsets_per_trigger=3)
    good = [str(uuid.uuid4()) for _ in range(4)]
    bad = str(uuid.uuid4())
    stream.send(
        *(record(event_id=i, received_at=received(0)) for i in good),
        record(event_id=bad, payload={"amount": 5000}, received_at=received(0)),
        record(event_id=good[0], received_at=received(1)),  # a retry, in the same run's next batch
    )
    stream.run()
    assert [b.bronze_rows for b in stream.batches] == [3, 3]
    assert stream.ids(SILVER) == sorted(good)

    # Minutes later, after a restart: the same events again, the bad one valid now, and one new.
    new = str(uuid.uuid4())
    stream.send(
        *(record(event_id=i, received_at=received(9)) for i in good[:2]),
        record(event_id=bad, payload={"amount": 5}, received_at=received(9)),
        record(event_id=new, received_at=received(9)),
    )
    stream.run()
    assert sum(p.input_rows for p in stream.progress) == 4  # Spark counts each lane's read: the metrics do not
    assert stream.ids(SILVER) == sorted([*good, new])
    assert stream.ids(QUARANTINE, "quarantine_id") == [bad]  # quarantined first: never in silver
    assert len(stream.ids(BRONZE)) == 10  # every record
    assert sum(b.duplicates for b in stream.batches) == 4
    assert sum(b.silver_rows + b.quarantine_rows for b in stream.batches) == 6


def test_a_copy_after_the_window_is_inserted_again_until_weir_dedupe_removes_it(stream_factory, tmp_path):
    window_s = 4
    stream = stream_factory(dedupe_window_seconds=window_s, max_offsets_per_trigger=1)
    event, other, third = (str(uuid.uuid4()) for _ in range(3))
    stream.send(record(event_id=event, received_at=received(0)))
    stream.run()
    time.sleep(window_s + 1)
    stream.send(record(event_id=other))  # a batch a window later: its clock moves the watermark past the event's
    stream.run()
    # The next batch evicts the event's key; the copy after it is inserted again.
    stream.send(record(event_id=third), record(event_id=event, received_at=received(600)))
    stream.run()
    assert stream.ids(SILVER) == sorted([event, event, other, third])

    settings = BatchSettings(home=tmp_path / "batch", lake_uri=stream.settings.lake, contracts_dir=CONTRACTS_DIR)
    report = dedupe(stream.spark, settings, JobMetrics("dedupe"))
    assert report.removed[SILVER] == 1
    assert stream.ids(SILVER) == sorted([event, other, third])
    rows = stream.spark.read.format("delta").load(table_uri(stream.settings.lake, SILVER))
    assert rows.where(rows.event_id == event).first()["kafka_offset"] == 0  # the first copy received is kept
