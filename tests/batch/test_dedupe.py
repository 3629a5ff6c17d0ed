"""`weir dedupe` (batch.dedupe) on a lake where copies received after the stream's window were inserted again:
the first copy received is kept (across silver and quarantine), the others deleted, once; a dry run changes
nothing."""

import datetime as dt
import uuid
from typing import Any

import pytest

from batch.dedupe import run
from lake.tables import KEYS, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics
from tests.batch.support import event_on, write_stream_batch
from tests.batch.test_backfill import new_failures_topic, settings_for, version
from tests.streaming.support import CONTRACTS_DIR

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 3, 10)


def held(spark: Any, lake: str, name: str) -> list[tuple[str, int]]:
    rows = spark.read.format("delta").load(table_uri(lake, name)).select(KEYS[name], "kafka_offset").collect()
    return sorted((r[0], r[1]) for r in rows)


def test_later_copies_are_removed_and_the_first_received_is_kept(spark, lake, tmp_path, kafka_bootstrap):
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    topic = new_failures_topic(kafka_bootstrap)
    first = [
        event_on(DAY, event_id=a, payload={"amount": 1}),
        event_on(DAY, event_id=b, payload={"amount": 5000}),  # quarantined
        event_on(DAY, event_id=c, payload={"amount": 2}),
    ]
    write_stream_batch(spark, lake, first, batch_id=0, kafka_bootstrap=kafka_bootstrap, failures_topic=topic)
    later = dt.datetime.combine(DAY + dt.timedelta(days=3), dt.time(9))  # after the window: inserted again
    again = [
        event_on(DAY + dt.timedelta(days=1), event_id=a, received=later, payload={"amount": 1}),  # another day
        event_on(DAY, event_id=b, received=later, payload={"amount": 5}),  # valid now: would go to silver
    ]
    write_stream_batch(
        spark, lake, again, batch_id=1, kafka_bootstrap=kafka_bootstrap, failures_topic=topic, offset=10,
        check_tables=False,
    )  # fmt: skip
    assert held(spark, lake, SILVER) == sorted([(a, 0), (c, 2), (a, 10), (b, 11)])
    settings = settings_for(tmp_path, lake, kafka_bootstrap, topic, CONTRACTS_DIR)
    silver_version = version(spark, lake, SILVER)

    dry = run(spark, settings, JobMetrics("dedupe"), dry_run=True)
    assert dry.as_json() == {"duplicated_ids": 2, "removed": {QUARANTINE: 0, SILVER: 2}, "dry_run": True, "retries": 0}
    assert version(spark, lake, SILVER) == silver_version  # nothing written

    done = run(spark, settings, JobMetrics("dedupe"))
    assert done.removed == {QUARANTINE: 0, SILVER: 2}
    assert held(spark, lake, SILVER) == sorted([(a, 0), (c, 2)])
    assert held(spark, lake, QUARANTINE) == [(b, 1)]  # quarantined first: it never reaches silver
    assert "2 ids held more than once; removed 0 from quarantine/events, 2 from silver/events" in done.text()

    assert run(spark, settings, JobMetrics("dedupe")).duplicated_ids == 0  # a second run finds nothing
    assert version(spark, lake, SILVER) == silver_version + 1
