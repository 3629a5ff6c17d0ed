"""`write_batch` against real Delta tables and a real broker: a replayed batch, or a re-sent event (whatever its
occurred_at or received_at), commits nothing twice; failing events reach the DQ-failure topic; a `fail` rule stops
before silver and quarantine."""

import uuid

import orjson
import pytest
from deltalake import DeltaTable

from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.schemas import table_schemas
from lake.tables import BRONZE, QUARANTINE, SILVER, ensure_tables, table_uri
from streaming.exceptions import DataQualityStop
from streaming.job import BatchTarget, write_batch
from tests.streaming.support import contracts, kafka_rows, record
from tests.support import consume_until
from weir.stack.lake import column

pytestmark = pytest.mark.integration


@pytest.fixture
def target(spark, lake, kafka_bootstrap):
    topic = f"test.failures.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    rules = contracts()
    ensure_tables(spark, lake, table_schemas(spark))
    return BatchTarget(lake, "t", rules, kafka_bootstrap, topic)


def ids(lake, table, col="event_id"):
    return column(table_uri(lake, table), col)


def failures(consumer_factory, topic, want):
    consumer = consumer_factory(topic)
    seen = consume_until(consumer, lambda msgs: len(msgs) >= want, timeout_s=30)
    return [(m.key().decode(), orjson.loads(m.value())) for m in seen]


def test_replaying_a_batch_and_resending_events_leaves_one_row_each(spark, lake, target, consumer_factory):
    good = [str(uuid.uuid4()) for _ in range(5)]
    bad = str(uuid.uuid4())
    values = [record(event_id=i, payload={"amount": 1}) for i in good]
    batch0 = kafka_rows(spark, [*values, record(event_id=bad, payload={"amount": -1}), b"garbage"])
    first = write_batch(batch0, 0, target)
    again = write_batch(batch0, 0, target)  # the same batch again, as after a crash before Spark's commit
    assert (first.silver_rows, first.quarantine_rows, first.failures_published) == (5, 2, 2)
    assert again == first
    assert sorted(ids(lake, SILVER)) == sorted(good)
    assert len(ids(lake, BRONZE)) == 7
    quarantined = ids(lake, QUARANTINE, "quarantine_id")
    assert len(quarantined) == 2
    assert bad in quarantined

    # A later batch re-sends two good events and the bad one: nothing new anywhere but bronze.
    more = [str(uuid.uuid4()) for _ in range(3)]
    resent = [record(event_id=i, payload={"amount": 1}) for i in [*more, good[0], good[1]]]
    batch1 = kafka_rows(spark, [*resent, record(event_id=bad, payload={"amount": -1})], start=7)
    result = write_batch(batch1, 1, target)
    assert result.bronze_rows == 6
    silver = ids(lake, SILVER)
    assert sorted(silver) == sorted(good + more)
    assert len(silver) == len(set(silver))
    assert len(ids(lake, QUARANTINE, "quarantine_id")) == 2
    assert len(ids(lake, BRONZE)) == 13
    # At-least-once: the replay and the re-sent bad event published again, keyed by event_id.
    published = failures(consumer_factory, target.failures_topic, 5)
    assert len(published) == 5
    assert sum(key == bad for key, _ in published) == 3


def test_an_event_in_quarantine_never_reaches_silver_later(spark, lake, target):
    event_id = str(uuid.uuid4())
    write_batch(kafka_rows(spark, [record(event_id=event_id, payload={"amount": 5000})]), 0, target)
    write_batch(kafka_rows(spark, [record(event_id=event_id, payload={"amount": 5})], start=1), 1, target)
    assert ids(lake, QUARANTINE, "quarantine_id") == [event_id]
    assert event_id not in ids(lake, SILVER)


def test_a_fail_rule_stops_the_batch_after_bronze_and_the_failure_topic(spark, lake, target, consumer_factory):
    poison, fine = str(uuid.uuid4()), str(uuid.uuid4())
    batch = kafka_rows(
        spark, [record(event_id=fine, payload={"amount": 1}), record(event_id=poison, payload={"flag": "poison"})]
    )
    with pytest.raises(DataQualityStop) as stop:
        write_batch(batch, 0, target)
    assert stop.value.rule == "no-poison"
    assert stop.value.event_id == poison
    assert "no-poison" in str(stop.value)
    assert poison in str(stop.value)
    assert len(ids(lake, BRONZE)) == 2
    assert ids(lake, SILVER) == []
    assert ids(lake, QUARANTINE, "quarantine_id") == []
    [(key, message)] = failures(consumer_factory, target.failures_topic, 1)
    assert key == poison
    assert {r["rule"] for r in message["failed_rules"]} >= {"no-poison"}


def test_an_empty_batch_writes_nothing(spark, lake, target):
    version = DeltaTable(table_uri(lake, BRONZE)).version()
    assert write_batch(kafka_rows(spark, []), 0, target).bronze_rows == 0
    assert DeltaTable(table_uri(lake, BRONZE)).version() == version


def test_a_table_made_by_an_older_version_gains_the_new_columns(spark, lake, target):
    """An upgrade: silver created without `dq_warnings` (as before issue #5) still takes the stream's rows."""
    silver = table_uri(lake, SILVER)
    DeltaTable(silver)  # exists, from the fixture
    old = spark.read.format("delta").load(silver).drop("dq_warnings")
    old.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(silver)
    assert "dq_warnings" not in spark.read.format("delta").load(silver).columns
    event_id = str(uuid.uuid4())
    write_batch(kafka_rows(spark, [record(event_id=event_id, payload={"amount": 1, "note": " x"})]), 0, target)
    assert ids(lake, SILVER) == [event_id]
    [row] = spark.read.format("delta").load(silver).collect()
    assert [w.rule for w in row.dq_warnings] == ["note-trimmed"]


# An event's id is unique in the tables whatever its occurred_at / received_at: the insert checks whole tables.
def test_an_event_re_sent_on_three_days_is_in_silver_once_and_never_quarantined(spark, lake, target):
    """One event_id in three micro-batches, occurred_at on three UTC days, the third breaking a quarantine rule."""
    event_id = str(uuid.uuid4())
    sends = [
        ("2026-11-21T10:00:00Z", "2026-11-21T10:00:01Z", 1),
        ("2026-11-22T10:00:00Z", "2026-11-22T10:00:01Z", 2),
        ("2026-11-23T10:00:00Z", "2026-11-23T10:00:01Z", -1),  # amount-in-range: quarantine
    ]
    for batch_id, (occurred_at, received_at, amount) in enumerate(sends):
        value = record(event_id=event_id, occurred_at=occurred_at, received_at=received_at, payload={"amount": amount})
        write_batch(kafka_rows(spark, [value], start=batch_id), batch_id, target)
    rows = spark.read.format("delta").load(table_uri(lake, SILVER)).collect()
    assert [r.event_id for r in rows] == [event_id]
    assert str(rows[0].event_date) == "2026-11-21"  # the first copy's verdict and partition win
    assert ids(lake, QUARANTINE, "quarantine_id") == []
    assert len(ids(lake, BRONZE)) == 3


def test_a_bad_event_without_occurred_at_re_sent_another_day_is_quarantined_once(spark, lake, target):
    """No usable occurred_at: quarantine partitions by received_at, which differs between the two sends."""
    event_id = str(uuid.uuid4())
    for batch_id, received_at in enumerate(["2026-11-25T23:59:59Z", "2026-11-26T00:00:30Z"]):
        value = record(event_id=event_id, occurred_at=..., received_at=received_at)
        write_batch(kafka_rows(spark, [value], start=batch_id), batch_id, target)
    rows = spark.read.format("delta").load(table_uri(lake, QUARANTINE)).collect()
    assert [r.quarantine_id for r in rows] == [event_id]
    assert str(rows[0].event_date) == "2026-11-25"
    assert [f.rule for f in rows[0].failed_rules] == ["envelope.occurred_at"]
    assert ids(lake, SILVER) == []


def test_an_event_quarantined_first_never_reaches_silver_when_re_sent_valid_another_day(spark, lake, target):
    event_id = str(uuid.uuid4())
    bad = record(event_id=event_id, occurred_at="2026-11-20T08:00:00Z", payload={"amount": 5000})
    good = record(event_id=event_id, occurred_at="2026-11-24T08:00:00Z", payload={"amount": 5})
    write_batch(kafka_rows(spark, [bad]), 0, target)
    write_batch(kafka_rows(spark, [good], start=1), 1, target)
    assert ids(lake, QUARANTINE, "quarantine_id") == [event_id]
    assert ids(lake, SILVER) == []


def test_the_id_check_reads_only_the_key_column_and_broadcasts_the_batch_ids(spark, lake, target):
    """The whole table is read, but only its key column, and probed against the broadcast batch ids (no shuffle
    of the table)."""
    from lake.tables import ID, known_ids

    write_batch(kafka_rows(spark, [record(), record(payload={"amount": -1})]), 0, target)
    resent = ids(lake, SILVER)[0]
    candidates = spark.createDataFrame([(resent,), (str(uuid.uuid4()),)], f"{ID} string")
    tables = [(table_uri(lake, SILVER), "event_id"), (table_uri(lake, QUARANTINE), "quarantine_id")]
    known = known_ids(spark, candidates, tables)
    assert [r[ID] for r in known.collect()] == [resent]
    plan = known._jdf.queryExecution().executedPlan().toString()
    assert "ReadSchema: struct<event_id:string>" in plan
    assert "ReadSchema: struct<quarantine_id:string>" in plan
    assert "BroadcastHashJoin" in plan
    assert "LeftSemi" in plan
    assert "SortMergeJoin" not in plan
