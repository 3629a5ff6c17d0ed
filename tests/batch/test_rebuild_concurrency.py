"""A backfill beside readers and writers of the same partitions (batch.rebuild): a reader never sees a partition
half rewritten; the stream's own write path appending new events into those partitions meanwhile loses and
doubles nothing (reconciled by event_id); and a stream append committed inside a MERGE's transaction (forced,
through the MERGE's source) makes that MERGE conflict, be computed again and commit, counted as a retry."""

import datetime as dt
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F

from batch import backfill
from lake.tables import BRONZE, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics
from tests.batch.support import event_on, write_stream_batch
from tests.batch.test_backfill import changed_contracts, new_failures_topic, settings_for

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 6, 10)
OTHER = DAY + dt.timedelta(days=1)
WARN_OLD, WARN_NEW = "note-trimmed", "note-trimmed-v2"


def padded(day: dt.date, n: int, amount: float = 10.0) -> list[bytes]:
    """`n` events on `day` that break the warn rule (`note` not trimmed)."""
    return [event_on(day, payload={"amount": amount, "note": " x "}) for _ in range(n)]


class Stream:
    """The stream's micro-batch writes (`write_stream_batch`), with batch ids and Kafka offsets that go on."""

    def __init__(self, spark: Any, lake: str, bootstrap: str, topic: str) -> None:
        self.spark, self.lake, self.bootstrap, self.topic = spark, lake, bootstrap, topic
        self.batch_id, self.offset = 0, 0

    def write(self, values: list[bytes]) -> None:
        write_stream_batch(
            self.spark,
            self.lake,
            values,
            batch_id=self.batch_id,
            kafka_bootstrap=self.bootstrap,
            failures_topic=self.topic,
            offset=self.offset,
        )
        self.batch_id += 1
        self.offset += len(values)


def reconcile(spark: Any, lake: str) -> tuple[set[str], list[str]]:
    """Bronze's distinct ids, and every id of silver and quarantine (a list: doubles show)."""
    read = lambda t: spark.read.format("delta").load(table_uri(lake, t))  # noqa: E731
    bronze = {r[0] for r in read(BRONZE).select("event_id").distinct().collect()}
    routed = [r[0] for r in read(SILVER).select("event_id").collect()]
    routed += [r[0] for r in read(QUARANTINE).select("quarantine_id").collect()]
    return bronze, routed


def test_a_reader_sees_the_old_or_the_new_partition_never_a_mix(spark, lake, tmp_path, kafka_bootstrap):
    topic = new_failures_topic(kafka_bootstrap)
    stream = Stream(spark, lake, kafka_bootstrap, topic)
    for _ in range(3):  # three files per partition
        stream.write(padded(DAY, 40) + padded(OTHER, 5))
    contracts = changed_contracts(tmp_path, f"id: {WARN_OLD}", f"id: {WARN_NEW}")
    silver = spark.read.format("delta").load(table_uri(lake, SILVER))
    seen: list[frozenset[tuple[str, ...]]] = []
    done = threading.Event()

    def read() -> frozenset[tuple[str, ...]]:
        got = silver.where(F.col("event_date") == F.lit(DAY)).select("dq_warnings.rule").collect()
        assert len(got) == 120
        return frozenset(tuple(r[0]) for r in got)

    def reader() -> None:
        while not done.is_set():
            seen.append(read())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        while not seen:
            time.sleep(0.05)
        report = backfill.run(
            spark,
            settings_for(tmp_path, lake, kafka_bootstrap, topic, contracts),
            JobMetrics("backfill"),
            date_from=DAY,
            date_to=DAY,
            event_types=None,
        )
    finally:
        done.set()
        thread.join()
    # the reader's last read may have begun before the backfill's commit; a read begun after it sees the new rows
    seen.append(read())
    assert report.as_json()["silver"] == 120
    assert len(seen) >= 4  # the reader's three or more, and the one after
    assert set(seen) == {frozenset({(WARN_OLD,)}), frozenset({(WARN_NEW,)})}  # never both in one read
    assert seen[0] == {(WARN_OLD,)}
    assert seen[-1] == {(WARN_NEW,)}


def test_a_stream_writing_the_same_partitions_meanwhile_loses_and_doubles_nothing(
    spark, lake, tmp_path, kafka_bootstrap
):
    topic = new_failures_topic(kafka_bootstrap)
    stream = Stream(spark, lake, kafka_bootstrap, topic)
    stream.write(padded(DAY, 20) + padded(DAY, 5, amount=5000.0) + padded(OTHER, 20))
    contracts = changed_contracts(tmp_path, "params: {min: 0, max: 1000}", "params: {min: 0, max: 6000}")
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not done.is_set() or stream.batch_id < 3:
                stream.write(padded(DAY, 3) + padded(DAY, 1, amount=5000.0) + padded(OTHER, 3))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        report = backfill.run(
            spark,
            settings_for(tmp_path, lake, kafka_bootstrap, topic, contracts),
            JobMetrics("backfill"),
            date_from=DAY,
            date_to=OTHER,
            event_types=["shop.order"],
        )
    finally:
        done.set()
        thread.join()
    assert not errors
    assert stream.batch_id >= 3
    bronze, routed = reconcile(spark, lake)
    assert len(routed) == len(set(routed))  # none doubled
    assert set(routed) == bronze  # none lost
    out = report.as_json()
    assert out["moved_to_silver"] >= 5  # the seeded 5000s pass now
    assert out["retries"] >= 0


def test_a_stream_append_inside_the_merge_is_a_conflict_that_is_retried(spark, lake, tmp_path, kafka_bootstrap):
    topic = new_failures_topic(kafka_bootstrap)
    stream = Stream(spark, lake, kafka_bootstrap, topic)
    stream.write(padded(DAY, 10))
    contracts = changed_contracts(tmp_path, f"id: {WARN_OLD}", f"id: {WARN_NEW}")
    gate = Gate(tmp_path / "gate")
    late = str(uuid.uuid4())
    gated: list[str] = []

    def hook(table: str, day: dt.date, source: Any) -> Any:
        if table != SILVER or gated:
            return source
        gated.append(table)
        return source.where(gate.udf()(F.col("event_id")))

    def stream_inside_the_merge() -> None:
        gate.wait_entered()
        stream.write([event_on(DAY, event_id=late, payload={"amount": 1.0, "note": " x "})])
        gate.release()

    thread = threading.Thread(target=stream_inside_the_merge)
    thread.start()
    try:
        report = backfill.run(
            spark,
            settings_for(tmp_path, lake, kafka_bootstrap, topic, contracts),
            JobMetrics("backfill"),
            date_from=DAY,
            date_to=DAY,
            event_types=None,
            hook=hook,
        )
    finally:
        gate.release()
        thread.join()
    out = report.as_json()
    assert out["retries"] == 1
    assert out["dates"][0]["retries"] == 1
    silver = spark.read.format("delta").load(table_uri(lake, SILVER)).collect()
    assert sorted(r.event_id for r in silver).count(late) == 1  # the stream's insert, kept once
    assert {tuple(w.rule for w in r.dq_warnings) for r in silver if r.event_id != late} == {(WARN_NEW,)}
    bronze, routed = reconcile(spark, lake)
    assert sorted(routed) == sorted(bronze)


class Gate:
    """A file handshake between a Spark task (the MERGE source's first row blocks in a Python UDF until
    released) and the test's driver thread: deterministic, whatever the timing."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.entered, self.released = str(folder / "entered"), str(folder / "released")

    def udf(self) -> Any:
        entered, released = self.entered, self.released

        def passing(_: object) -> bool:
            if not os.path.exists(entered):
                open(entered, "w").close()
                deadline = time.monotonic() + 60
                while not os.path.exists(released) and time.monotonic() < deadline:
                    time.sleep(0.05)
            return True

        return F.udf(passing, "boolean")

    def wait_entered(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self.entered):
            if time.monotonic() > deadline:
                raise TimeoutError("the MERGE never evaluated its source")
            time.sleep(0.05)

    def release(self) -> None:
        Path(self.released).touch()
