"""The reconciliation's counting: a record's id as the stream routes it (a corrupt copy of an event is a record
of its own), a re-sent id in the hour of its first copy, a range that leaves out ids first seen before it, and
hours too recent to have settled."""

import datetime as dt
import uuid

import orjson
import pytest

from batch.history import LedgerRow
from batch.reconcile import reconcile, settled_before
from ingest.admin import create_topics
from ingest.topics import TopicSpec
from tests.batch.support import event_on, write_stream_batch

pytestmark = pytest.mark.integration

DAY = dt.date(2025, 4, 1)
FIRST = dt.datetime(2025, 4, 1, 10, 5)
RESENT = dt.datetime(2025, 4, 2, 9, 0)
LATE = dt.datetime(2025, 4, 3, 12, 0)


def test_the_settle_time_skips_hours_that_closed_less_than_ten_minutes_ago():
    assert settled_before(dt.datetime(2025, 4, 1, 11, 5, tzinfo=dt.UTC)) == dt.datetime(2025, 4, 1, 10)
    assert settled_before(dt.datetime(2025, 4, 1, 11, 15, tzinfo=dt.UTC)) == dt.datetime(2025, 4, 1, 11)
    assert LedgerRow(FIRST, 5, 3, 1).missing == 1
    assert not LedgerRow(FIRST, 5, 3, 1).ok
    assert LedgerRow(FIRST, 4, 3, 1).ok


@pytest.fixture(scope="module")
def seeded(spark, kafka_bootstrap, tmp_path_factory):
    lake = str(tmp_path_factory.mktemp("reconcile") / "lake")
    topic = f"test.reconcile.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    event_id = str(uuid.uuid4())
    good = event_on(DAY, event_id=event_id, received=FIRST)
    # The same event_id in a copy whose schema_version has the wrong type: Spark keeps event_id (partial JSON
    # results), but the record is unparseable, so the stream quarantines it under its Kafka coordinates.
    corrupt = orjson.loads(event_on(DAY, event_id=event_id, received=FIRST))
    corrupt["schema_version"] = "one"
    late = event_on(DAY, received=LATE)
    write_stream_batch(
        spark,
        lake,
        [good, orjson.dumps(corrupt), late],
        batch_id=0,
        kafka_bootstrap=kafka_bootstrap,
        failures_topic=topic,
    )
    resent = event_on(DAY, event_id=event_id, received=RESENT)  # a client's retry, a day later: bronze only
    write_stream_batch(
        spark, lake, [resent], batch_id=1, kafka_bootstrap=kafka_bootstrap, failures_topic=topic, offset=3
    )
    return lake


def counts(rec):
    return [(h.hour, h.bronze, h.silver, h.quarantine) for h in rec.hours]


def test_ids_are_counted_as_the_stream_routes_them_in_the_hour_of_their_first_copy(spark, seeded):
    now = dt.datetime(2025, 4, 3, 12, 30, tzinfo=dt.UTC)  # the 12:00 hour has not settled
    rec = reconcile(spark, seeded, date_from=None, date_to=None, now=now)
    assert counts(rec) == [(dt.datetime(2025, 4, 1, 10), 2, 1, 1)]
    assert rec.mismatches == []
    assert rec.settled_before == dt.datetime(2025, 4, 3, 12)

    later = reconcile(spark, seeded, date_from=None, date_to=None, now=dt.datetime(2025, 4, 3, 13, 11))
    assert counts(later)[-1] == (dt.datetime(2025, 4, 3, 12), 1, 1, 0)


def test_a_range_leaves_out_ids_whose_first_copy_came_before_it(spark, seeded):
    now = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    rec = reconcile(spark, seeded, date_from=RESENT.date(), date_to=RESENT.date(), now=now)
    assert counts(rec) == []  # the retry on the 2nd is the first copy's duplicate: nothing new that day
    first_day = reconcile(spark, seeded, date_from=DAY, date_to=DAY, now=now)
    assert counts(first_day) == [(dt.datetime(2025, 4, 1, 10), 2, 1, 1)]
