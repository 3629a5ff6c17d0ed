"""Lag of the streaming job: checkpoint parsing (files crafted byte for byte like pyspark 4.2 writes them) and the
`LagMonitor` against the real broker (the real `weir stream` process: test_lag_process.py)."""

import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client import REGISTRY

from ingest.admin import admin_client, create_topics
from ingest.topics import TopicSpec
from streaming.lag import (
    INITIAL_BATCH,
    LagError,
    LagMonitor,
    batch_end_offsets,
    batch_ids,
    committed_batch,
    offsets_file,
    starting_offsets,
)
from tests.support import free_port

METADATA = (
    '{"batchWatermarkMs":0,"batchTimestampMs":1795646074842,"conf":{"spark.sql.streaming.stateStore.providerClass":'
    '"org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider","spark.sql.shuffle.partitions":"2"}}'
)


def write_batch_files(checkpoint: Path, batch_id: int, offsets: dict, *, commit: bool = True) -> None:
    """`offsets/<id>` (and `commits/<id>`) as Spark writes them, with the `.crc` files beside."""
    for folder in ("offsets", "commits"):
        (checkpoint / folder).mkdir(parents=True, exist_ok=True)
    (checkpoint / "offsets" / str(batch_id)).write_text(f"v1\n{METADATA}\n{orjson.dumps(offsets).decode()}")
    (checkpoint / "offsets" / f".{batch_id}.crc").write_bytes(b"crc\x00")
    if commit:
        (checkpoint / "commits" / str(batch_id)).write_text('v1\n{"nextBatchWatermarkMs":0}')
        (checkpoint / "commits" / f".{batch_id}.crc").write_bytes(b"crc\x00")


def write_initial_offsets(checkpoint: Path, offsets: dict) -> None:
    """`sources/0/0`: the Kafka source's initial offsets, after a NUL byte."""
    (checkpoint / "sources" / "0").mkdir(parents=True, exist_ok=True)
    (checkpoint / "sources" / "0" / "0").write_bytes(b"\x00v1\n" + orjson.dumps(offsets))


# The checkpoint (pure) -------------------------------------------------------------------------------------------
def test_the_newest_committed_batch_gives_the_committed_offsets(tmp_path):
    write_initial_offsets(tmp_path, {"t": {"0": 0, "1": 0}})
    write_batch_files(tmp_path, 0, {"t": {"0": 2, "1": 1}})
    write_batch_files(tmp_path, 1, {"t": {"0": 4, "1": 3}})
    write_batch_files(tmp_path, 2, {"t": {"0": 9, "1": 9}}, commit=False)  # planned, not committed
    (tmp_path / "commits" / ".3.0b1c.tmp").write_text("v1\n")
    assert batch_ids(tmp_path / "commits") == [1, 0]
    assert committed_batch(tmp_path, "t") == (1, {0: 4, 1: 3})
    assert batch_end_offsets(tmp_path, 2, "t") == {0: 9, 1: 9}
    assert committed_batch(tmp_path, "another-topic") is None


def test_before_any_commit_the_initial_offsets_count_and_an_empty_checkpoint_has_none(tmp_path):
    assert committed_batch(tmp_path / "missing", "t") is None
    assert committed_batch(tmp_path, "t") is None
    write_batch_files(tmp_path, 0, {"t": {"0": 5}}, commit=False)
    assert committed_batch(tmp_path, "t") is None
    write_initial_offsets(tmp_path, {"t": {"0": 3}})
    assert committed_batch(tmp_path, "t") == (INITIAL_BATCH, {0: 3})


def test_unreadable_offset_files_are_skipped(tmp_path):
    write_batch_files(tmp_path, 0, {"t": {"0": 2}})
    write_batch_files(tmp_path, 1, {"t": {"0": 4}})
    (tmp_path / "offsets" / "1").write_text("v1\n{not json\n-")  # torn file: fall back to the previous commit
    assert committed_batch(tmp_path, "t") == (0, {0: 2})
    (tmp_path / "offsets" / "2").write_bytes(b"\xff\xfe")
    assert offsets_file(tmp_path / "offsets" / "2", "t") is None
    (tmp_path / "offsets" / "3").write_text('{"t":{"0":1}}')  # no version line: not a metadata log file
    assert offsets_file(tmp_path / "offsets" / "3", "t") is None
    (tmp_path / "offsets" / "4").write_text(f'v2\n{METADATA}\n{{"src-a":{{"t":{{"0":7}}}}}}')
    assert offsets_file(tmp_path / "offsets" / "4", "t") == {0: 7}  # offsets keyed by source name


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("earliest", {0: 1, 1: 0}),
        ("latest", {0: 9, 1: 4}),
        ('{"t":{"0":5,"1":-1}}', {0: 5, 1: 4}),
        ('{"t":{"0":-2}}', {0: 1, 1: 0}),
    ],
)
def test_starting_offsets_resolve_like_spark(spec, expected):
    assert starting_offsets(spec, "t", {0: 1, 1: 0}, {0: 9, 1: 4}) == expected


# The monitor against the real broker ------------------------------------------------------------------------------
def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def produce(bootstrap: str, topic: str, partition: int, count: int, timestamp_ms: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(count):
        producer.produce(topic, value=b"{}", partition=partition, timestamp=timestamp_ms + i)
    assert producer.flush(10) == 0


@pytest.mark.integration
def test_the_monitor_measures_offsets_and_ages_from_the_checkpoint_and_committed_batches(kafka_bootstrap, tmp_path):
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    t0 = 1_790_000_000
    produce(kafka_bootstrap, topic, 0, 5, t0 * 1000)  # offsets 0..4, timestamps t0 .. t0 + 4 ms
    produce(kafka_bootstrap, topic, 1, 3, (t0 + 50) * 1000)
    write_batch_files(tmp_path, 0, {topic: {"0": 2, "1": 3}})
    now = [t0 + 100.0]
    monitor = LagMonitor(kafka_bootstrap, topic, tmp_path, clock=lambda: now[0])
    assert math.isnan(sample("weir_stream_offsets_behind_total"))  # unknown, not 0, before the first check

    reading = monitor.check()
    assert reading.offsets_behind == {0: 3, 1: 0}
    assert reading.oldest_unprocessed_age_s == pytest.approx(100 - 0.002)  # the record at offset 2
    assert math.isnan(reading.newest_received_age_s)
    assert sample("weir_stream_offsets_behind", topic=topic, partition="0") == 3
    assert sample("weir_stream_offsets_behind_total") == 3
    assert sample("weir_stream_committed_offset", topic=topic, partition="1") == 3

    # Spark committed batch 1 (the job's ledger reports it with its newest received_at).
    write_batch_files(tmp_path, 1, {topic: {"0": 5, "1": 3}})
    newest = datetime.fromtimestamp(t0 + 40, UTC)
    monitor.batch_committed(SimpleNamespace(batch_id=1, newest_received_at=newest))
    monitor.batch_committed(SimpleNamespace(batch_id=1, newest_received_at=newest - timedelta(seconds=30)))
    reading = monitor.check()
    assert reading.offsets_behind == {0: 0, 1: 0}
    assert reading.oldest_unprocessed_age_s == 0
    assert reading.newest_received_age_s == pytest.approx(60)
    assert sample("weir_stream_oldest_unprocessed_age_seconds") == 0
    assert sample("weir_stream_newest_received_age_seconds") == pytest.approx(60)

    # Lag rises without any batch; the listener's progress report brings it back to 0.
    produce(kafka_bootstrap, topic, 1, 2, (t0 + 90) * 1000)
    now[0] = t0 + 130.0
    reading = monitor.check()
    assert reading.offsets_behind == {0: 0, 1: 2}
    assert reading.oldest_unprocessed_age_s == pytest.approx(40)
    monitor.offsets_committed(2, {(topic, 0): 5, (topic, 1): 5, ("another-topic", 1): 99})
    assert monitor.check().offsets_behind == {0: 0, 1: 0}
    monitor.offsets_committed(1, {(topic, 0): 5, (topic, 1): 3})  # a late report of an older batch: ignored
    assert monitor.check().offsets_behind == {0: 0, 1: 0}
    monitor.close()


@pytest.mark.integration
def test_offsets_the_job_wrote_but_spark_has_not_committed_are_not_committed(kafka_bootstrap, tmp_path):
    """foreachBatch returned (the job's writes are done) but Spark has not written `commits/1`: a crash now
    replays batch 1, so its offsets are not committed yet."""
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    produce(kafka_bootstrap, topic, 0, 6, int(time.time() * 1000))
    write_batch_files(tmp_path, 0, {topic: {"0": 2}})
    write_batch_files(tmp_path, 1, {topic: {"0": 6}}, commit=False)  # planned and written, not committed
    monitor = LagMonitor(kafka_bootstrap, topic, tmp_path)
    monitor.batch_committed(SimpleNamespace(batch_id=1, newest_received_at=datetime.now(UTC)))  # as the job did
    assert monitor.check().offsets_behind == {0: 4}
    assert sample("weir_stream_committed_offset", topic=topic, partition="0") == 2
    write_batch_files(tmp_path, 1, {topic: {"0": 6}})  # Spark's commit
    assert monitor.check().offsets_behind == {0: 0}
    assert sample("weir_stream_committed_offset", topic=topic, partition="0") == 6
    monitor.close()


@pytest.mark.integration
def test_records_waiting_without_a_timestamp_have_an_unknown_age_not_0(kafka_bootstrap, tmp_path):
    """Kafka's "no timestamp" (-1): the age of what waits is unknown, so the gauge is NaN (an alert comparing it
    sees nothing rather than "caught up") and the tick counts as a failed `timestamps` measurement."""
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    produce(kafka_bootstrap, topic, 0, 2, int(time.time() * 1000))
    write_batch_files(tmp_path, 0, {topic: {"0": 2}})
    monitor = LagMonitor(kafka_bootstrap, topic, tmp_path, kafka_timeout_s=2)
    assert monitor.check().oldest_unprocessed_age_s == 0  # caught up
    assert sample("weir_stream_oldest_unprocessed_age_seconds") == 0

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for _ in range(3):
        producer.produce(topic, value=b"{}", partition=0, timestamp=-1)
    assert producer.flush(10) == 0
    errors = sample("weir_stream_lag_errors_total", stage="timestamps") or 0
    checks = sample("weir_stream_lag_checks_total")
    monitor._tick()
    assert math.isnan(sample("weir_stream_oldest_unprocessed_age_seconds"))
    assert sample("weir_stream_offsets_behind_total") == 3  # the count is known
    assert sample("weir_stream_lag_errors_total", stage="timestamps") == errors + 1
    assert sample("weir_stream_lag_checks_total") == checks  # not a measurement: WeirStreamLagUnmeasured can fire
    with pytest.raises(LagError, match="no timestamp"):
        monitor.check()
    monitor.close()


@pytest.mark.integration
def test_a_timestamp_that_cannot_be_read_makes_the_age_unknown_rather_than_leave_its_last_value(
    kafka_bootstrap, tmp_path
):
    """The committed offset points at a transaction marker: an offset waits, but no record can be read there."""
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"lag-{uuid.uuid4()}"})
    producer.init_transactions(10)

    def transaction(end: int) -> None:  # a record and its commit marker, readable up to `end`
        producer.begin_transaction()
        producer.produce(topic, value=b"{}", partition=0)
        producer.commit_transaction(10)
        wait_for_stable_end(kafka_bootstrap, topic, end)

    transaction(2)  # offsets 0 (the record) and 1 (the marker)
    write_batch_files(tmp_path, 0, {topic: {"0": 2}})
    monitor = LagMonitor(kafka_bootstrap, topic, tmp_path, kafka_timeout_s=1)
    monitor._tick()
    assert sample("weir_stream_oldest_unprocessed_age_seconds") == 0  # caught up

    transaction(4)  # offsets 2 and 3; the job committed the record, not the marker after it
    write_batch_files(tmp_path, 1, {topic: {"0": 3}})
    errors = sample("weir_stream_lag_errors_total", stage="timestamps") or 0
    monitor._tick()
    assert math.isnan(sample("weir_stream_oldest_unprocessed_age_seconds"))  # not the 0 of the last tick
    assert sample("weir_stream_offsets_behind_total") == 1
    assert sample("weir_stream_lag_errors_total", stage="timestamps") == errors + 1
    monitor.close()


def wait_for_stable_end(bootstrap: str, topic: str, end: int, timeout_s: float = 20) -> None:
    """Wait until partition 0's read-committed end reaches `end`: a commit returns once the coordinator decided it,
    and the partition's marker (which moves its last stable offset) is written after that."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "weir-test-watermarks", "isolation.level": "read_committed"}
    )
    try:
        deadline = time.monotonic() + timeout_s
        while (high := consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=5, cached=False)[1]) < end:
            assert time.monotonic() < deadline, f"{topic}[0] ends at {high}, not {end}, after {timeout_s} s"
            time.sleep(0.05)
    finally:
        consumer.close()


def recreate(bootstrap: str, topic: str, partitions: int) -> None:
    """Delete `topic` and create it again (empty), waiting for the deletion to finish."""
    client = admin_client(bootstrap)
    for future in client.delete_topics([topic], operation_timeout=30).values():
        future.result(30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if create_topics(bootstrap, [TopicSpec(topic, partitions)]) == {topic: "created"}:
            return
        time.sleep(0.5)
    raise AssertionError(f"{topic} could not be re-created")


@pytest.mark.integration
def test_after_the_topic_is_re_created_the_committed_offsets_follow_the_new_topic(kafka_bootstrap, tmp_path):
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    now = int(time.time() * 1000)
    produce(kafka_bootstrap, topic, 0, 10, now)
    produce(kafka_bootstrap, topic, 1, 4, now)
    write_batch_files(tmp_path, 3, {topic: {"0": 10, "1": 4}})
    monitor = LagMonitor(kafka_bootstrap, topic, tmp_path)
    assert monitor.check().offsets_behind == {0: 0, 1: 0}

    recreate(kafka_bootstrap, topic, 2)
    produce(kafka_bootstrap, topic, 0, 3, now)  # the new topic's offsets 0..2, below the committed 10

    def measured() -> Any:
        deadline = time.monotonic() + 30
        while True:  # the client may need a moment to see the new topic's leaders
            try:
                return monitor.check()
            except LagError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    reading = measured()
    assert reading.offsets_behind == {0: 3, 1: 0}  # not 0: nothing of the new topic is committed
    assert reading.committed == {0: 0, 1: 0}
    assert sample("weir_stream_committed_offset", topic=topic, partition="0") == 0
    assert reading.oldest_unprocessed_age_s > 0
    produce(kafka_bootstrap, topic, 0, 12, now)  # past the old committed offset: still counted from the start
    assert measured().offsets_behind == {0: 15, 1: 0}
    monitor.offsets_committed(4, {(topic, 0): 15, (topic, 1): 0})  # Spark committed on the new topic
    reading = measured()
    assert reading.offsets_behind == {0: 0, 1: 0}
    assert reading.committed == {0: 15, 1: 0}
    monitor.close()


@pytest.mark.integration
def test_an_empty_checkpoint_counts_from_the_starting_offsets(kafka_bootstrap, tmp_path):
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    produce(kafka_bootstrap, topic, 0, 4, int(time.time() * 1000) - 10_000)
    earliest = LagMonitor(kafka_bootstrap, topic, tmp_path / "cp")
    reading = earliest.check()
    assert reading.offsets_behind == {0: 4}
    assert 9 < reading.oldest_unprocessed_age_s < 120
    latest = LagMonitor(kafka_bootstrap, topic, tmp_path / "cp", starting="latest")
    assert latest.check().offsets_behind == {0: 0}
    earliest.close()
    latest.close()


@pytest.mark.integration
def test_kafka_errors_are_counted_and_never_stop_the_thread(tmp_path):
    monitor = LagMonitor(f"127.0.0.1:{free_port()}", "nowhere", tmp_path, interval_s=0.05, kafka_timeout_s=0.3)
    with pytest.raises(LagError):
        monitor.check()
    before = sum(sample("weir_stream_lag_errors_total", stage=s) or 0 for s in ("metadata", "watermarks"))
    monitor.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            errors = sum(sample("weir_stream_lag_errors_total", stage=s) or 0 for s in ("metadata", "watermarks"))
            if errors >= before + 3:
                break
            time.sleep(0.1)
        assert errors >= before + 3
        assert monitor._thread is not None
        assert monitor._thread.is_alive()
    finally:
        monitor.stop()
    assert not monitor._thread.is_alive()
