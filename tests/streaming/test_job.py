"""The streaming query itself, in-process, reading the real broker (availableNow trigger), and its batch metrics
(`BatchLedger`: exported once Spark committed the batch, once)."""

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from prometheus_client import REGISTRY
from pyspark.errors import StreamingQueryException

from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.tables import BRONZE, QUARANTINE, SILVER, table_uri
from streaming.job import BatchLedger, BatchResult, start_query
from streaming.listener import QueryMetricsListener
from streaming.settings import StreamSettings
from tests.streaming.support import record, stream_settings
from weir.stack.lake import column, read_rows


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def figures() -> dict[str, float]:
    """The batch metrics (counters and the last-batch timestamp) as they are now."""
    return {
        "batches": metric("weir_stream_batches_total"),
        "bronze": metric("weir_stream_rows_total", outcome="bronze"),
        "silver": metric("weir_stream_rows_total", outcome="silver"),
        "quarantine": metric("weir_stream_rows_total", outcome="quarantine"),
        "dq": metric("weir_stream_dq_failures_total", event_type="shop.order", rule="r", severity="quarantine"),
        "seconds": metric("weir_stream_batch_seconds_count"),
        "last": metric("weir_stream_last_batch_timestamp_seconds"),
    }


def result(batch_id: int) -> BatchResult:
    by_rule = {("shop.order", "r", "quarantine"): 1}
    return BatchResult(batch_id, 3, 2, 1, 1, 0, datetime(2026, 11, 25, tzinfo=UTC), by_rule, seconds=0.5)


def test_a_batch_is_counted_only_once_spark_committed_it_and_only_once():
    committed: list[BatchResult] = []
    ledger = BatchLedger(on_committed=committed.append)
    query = str(uuid.uuid4())
    start = figures()
    ledger.written(result(0))  # foreachBatch returned; Spark has not committed yet
    assert figures() == start
    assert committed == []

    assert ledger.committed(query, 0, 1_800_000_000.0) == [result(0)]  # the progress report, after the commit
    after = figures()
    assert after["batches"] == start["batches"] + 1
    assert (after["bronze"], after["silver"], after["quarantine"]) == (
        start["bronze"] + 3,
        start["silver"] + 2,
        start["quarantine"] + 1,
    )
    assert after["dq"] == start["dq"] + 1
    assert after["seconds"] == start["seconds"] + 1
    assert after["last"] == 1_800_000_000.0  # when Spark committed it, not when the writes ended
    assert committed == [result(0)]

    # Batch 0 again (a replay) and its report again: not counted twice.
    ledger.written(result(0))
    assert ledger.committed(query, 0, 1_800_000_010.0) == []
    assert figures() == after

    # Batches 1 and 2 written before the (asynchronous) report of 1 arrives: each counted at its own commit.
    ledger.written(result(1))
    ledger.written(result(2))
    assert [r.batch_id for r in ledger.committed(query, 1, 1_800_000_020.0)] == [1]
    assert [r.batch_id for r in ledger.committed(query, 2, 1_800_000_030.0)] == [2]
    assert ledger.committed(query, 3, 1_800_000_040.0) == []  # a report of a batch never written
    assert figures()["batches"] == after["batches"] + 2

    # A new checkpoint (a new query id) restarts batch ids at 0: counted.
    ledger.written(result(0))
    assert [r.batch_id for r in ledger.committed(str(uuid.uuid4()), 0, 1_800_000_050.0)] == [0]
    assert [r.batch_id for r in committed] == [0, 1, 2, 0]


@pytest.mark.integration
def test_the_batch_metrics_move_after_sparks_commit_and_a_replayed_batch_counts_once(
    spark, kafka_bootstrap, producer_factory, tmp_path
):
    """Run 1 crashes after the writes of its first batch, before Spark's commit; run 2 replays that batch and
    commits everything. The metrics count each batch once, when its `commits/<id>` exists."""
    topic = f"test.events.{uuid.uuid4().hex[:8]}"
    failures_topic = f"test.failures.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1), TopicSpec(failures_topic, 1)])
    producer = producer_factory()
    for _ in range(9):
        producer.produce(topic, value=record())
    assert producer.flush(10) == 0
    settings = stream_settings(tmp_path, kafka_bootstrap, topic, failures_topic, max_offsets_per_trigger=4)
    commits = Path(settings.checkpoint) / "commits"
    exported: list[tuple[int, bool]] = []  # (batch id, its commit file existed when it was counted)
    written: list[tuple[int, float, bool]] = []  # (batch id, batches counted then, its commit file existed)
    ledger = BatchLedger(on_committed=lambda r: exported.append((r.batch_id, (commits / str(r.batch_id)).exists())))
    listener = QueryMetricsListener(on_progress=[ledger.on_progress])
    crash = [True]

    def on_batch(r: BatchResult) -> None:  # in foreachBatch, after the writes, before Spark's commit
        written.append((r.batch_id, metric("weir_stream_batches_total"), (commits / str(r.batch_id)).exists()))
        if crash[0]:
            raise RuntimeError("the process dies before Spark commits the batch")

    start = figures()
    spark.streams.addListener(listener)
    try:
        query = start_query(spark, settings, available_now=True, on_batch=on_batch, ledger=ledger)
        with pytest.raises(StreamingQueryException):
            query.awaitTermination(180)
        time.sleep(2)  # time for a (wrong) progress report of the failed batch to arrive
        assert figures()["batches"] == start["batches"]
        assert figures()["bronze"] == start["bronze"]
        assert exported == []
        assert not (commits / "0").exists()

        crash[0] = False
        query = start_query(spark, settings, available_now=True, on_batch=on_batch, ledger=ledger)
        assert query.awaitTermination(180)
        assert query.exception() is None
        deadline = time.monotonic() + 30  # progress reaches the listener asynchronously
        while len(exported) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        spark.streams.removeListener(listener)

    assert [w[0] for w in written] == [0, 0, 1, 2]  # batch 0 twice (the replay); 9 records, 4 per trigger
    assert exported == [(0, True), (1, True), (2, True)]  # each once, each after its commit
    for i, (batch_id, counted, committed) in enumerate(written[1:]):
        assert not committed, batch_id
        assert counted <= start["batches"] + i, batch_id  # this batch was not counted yet at its write
    end = figures()
    assert end["batches"] == start["batches"] + 3
    assert end["bronze"] == start["bronze"] + 9  # the replayed batch's records once
    assert end["silver"] == start["silver"] + 9
    assert time.time() - 300 < end["last"] <= time.time()


@pytest.mark.integration
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

    settings = stream_settings(tmp_path, kafka_bootstrap, topic, failures_topic, max_offsets_per_trigger=7)
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
