"""`weir replay` (batch.replay) after a rule fix: the events a rule quarantined and that pass now are in silver
once and out of quarantine, those still failing stay with today's rules, every replayed event's verdict is on
the failure topic with stage backfill (an empty `failed_rules` for one that passes), other events are not
touched, and a second replay moves nothing."""

import datetime as dt
import uuid
from typing import Any

import orjson
import pytest

from batch import replay
from lake.tables import QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics
from tests.batch.support import event_on, write_stream_batch
from tests.batch.test_backfill import changed_contracts, new_failures_topic, settings_for, version
from tests.support import consume_until

pytestmark = pytest.mark.integration

DAYS = [dt.date(2026, 7, 1), dt.date(2026, 7, 2)]


def table(spark: Any, lake: str, name: str) -> list[Any]:
    return spark.read.format("delta").load(table_uri(lake, name)).collect()


def test_replay_moves_the_events_that_pass_now_exactly_once(spark, lake, tmp_path, kafka_bootstrap, consumer_factory):
    fixed = {str(uuid.uuid4()): day for day in DAYS for _ in range(3)}  # amount 2000: passes once max is 3000
    still = {str(uuid.uuid4()): day for day in DAYS}  # amount 5000: still out of range
    valid = [str(uuid.uuid4()) for _ in DAYS]
    no_id = b'{"event_type": "shop.order", "payload": {}}'  # quarantined by envelope rules: not replayed by rule
    records = [
        *(event_on(d, event_id=i, payload={"amount": 2000.0}) for i, d in fixed.items()),
        *(event_on(d, event_id=i, payload={"amount": 5000.0}) for i, d in still.items()),
        *(event_on(d, event_id=i, payload={"amount": 1.0}) for i, d in zip(valid, DAYS, strict=True)),
        no_id,
    ]
    seed_topic = new_failures_topic(kafka_bootstrap)
    write_stream_batch(spark, lake, records, batch_id=0, kafka_bootstrap=kafka_bootstrap, failures_topic=seed_topic)
    assert len(table(spark, lake, QUARANTINE)) == len(fixed) + len(still) + 1
    contracts = changed_contracts(tmp_path, "params: {min: 0, max: 1000}", "params: {min: 0, max: 3000}")
    topic = new_failures_topic(kafka_bootstrap)
    consumer = consumer_factory(topic)
    settings = settings_for(tmp_path, lake, kafka_bootstrap, topic, contracts)

    def run() -> dict[str, Any]:
        report = replay.run(
            spark,
            settings,
            JobMetrics("replay"),
            rules=["amount-in-range"],
            event_types=[],
            date_from=None,
            date_to=None,
        )
        assert report.exit_code == 0
        return report.as_json()

    first = run()

    assert first.keys() >= {"rows_read", "silver", "quarantine", "failures_published", "moved_to_silver"}
    assert (first["moved_to_silver"], first["silver"], first["quarantine"]) == (len(fixed), len(fixed), len(still))
    assert first["failures_published"] == len(fixed) + len(still)
    silver = [r.event_id for r in table(spark, lake, SILVER)]
    assert sorted(silver) == sorted([*fixed, *valid])  # each fixed event once
    quarantine = table(spark, lake, QUARANTINE)
    assert set(fixed).isdisjoint(r.quarantine_id for r in quarantine)
    assert {r.quarantine_id for r in quarantine if r.event_id} == set(still)
    assert len(quarantine) == len(still) + 1  # the record without an id stays as it was
    for r in quarantine:
        if r.event_id:
            assert [f.rule for f in r.failed_rules] == ["amount-in-range"]
    moved = {r.event_id: r.event_date for r in table(spark, lake, SILVER) if r.event_id in fixed}
    assert moved == fixed  # in the partition of its own event_date
    seen = consume_until(consumer, lambda got: len(got) >= len(fixed) + len(still), timeout_s=30)
    verdicts = {m.key().decode(): orjson.loads(m.value()) for m in seen}
    assert set(verdicts) == set(fixed) | set(still)
    assert {v["stage"] for v in verdicts.values()} == {"backfill"}
    assert all(verdicts[i]["failed_rules"] == [] for i in fixed)
    assert all([f["rule"] for f in verdicts[i]["failed_rules"]] == ["amount-in-range"] for i in still)
    assert verdicts[next(iter(fixed))]["event"]["payload"] == {"amount": 2000.0}

    versions = {t: version(spark, lake, t) for t in (SILVER, QUARANTINE)}
    second = run()

    assert (second["moved_to_silver"], second["silver"], second["quarantine"]) == (0, 0, len(still))
    assert sorted(r.event_id for r in table(spark, lake, SILVER)) == sorted([*fixed, *valid])
    assert version(spark, lake, SILVER) == versions[SILVER]  # silver not even written
    assert len(table(spark, lake, QUARANTINE)) == len(still) + 1
