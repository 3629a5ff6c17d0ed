"""`weir sweep` finds what was planted in a lake the stream wrote: duplicate keys (a `fail` rule: exit 1), a
null-ratio breach, a day whose row count is an anomaly against 14 days of history (built by 14 one-day
sweeps), rows deleted from silver behind Weir's back (the reconciliation names the hour and the missing count);
a clean range passes. The failure topic gets `stage: sweep` messages, the history and the ledger keep the
results, and the CLI prints one JSON object."""

import datetime as dt
import json
import os
import subprocess
import uuid
from pathlib import Path

import orjson
import pytest

from batch import sweep
from batch.history import METRIC_HISTORY, RECONCILIATION, read_table
from batch.settings import BatchSettings
from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.tables import SILVER, table_uri
from observability.batch import JobMetrics
from tests.batch.support import event_on, write_stream_batch
from tests.support import consume_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONTRACT = """
event_type: shop.order
schema_versions: [1, 2]
fields:
  amount: {type: number, required: true}
rules:
  - {id: amount-in-range, rule: between, field: payload.amount, params: {min: 0, max: 1000}}
dataset_rules:
  - {id: orders-unique, rule: unique, params: {fields: [payload.order_id]}, severity: fail}
  - {id: coupons-set, rule: null_ratio_at_most, field: payload.coupon, threshold: 0.2, severity: warn}
  - {id: daily-volume, rule: anomaly, params: {metric: row_count, k: 3, min_history: 7}, severity: warn}
"""
START = dt.date(2025, 3, 1)
HISTORY_DAYS = [START + dt.timedelta(days=i) for i in range(14)]
COUNTS = [10, 12, 11, 13, 10, 12, 11, 13, 10, 12, 11, 13, 10, 12]
DAY15 = START + dt.timedelta(days=14)
DUPS, NULLS, DELETED = dt.date(2025, 3, 20), dt.date(2025, 3, 21), dt.date(2025, 3, 25)
DELETED_RECEIVED = dt.datetime(2025, 3, 25, 14, 30)


def order(day, i, *, order_id=None, coupon="C", **kw):
    payload = {"amount": 1.5, "order_id": order_id or f"o-{day}-{i}"}
    if coupon is not None:
        payload["coupon"] = coupon
    return event_on(day, payload=payload, **kw)


@pytest.fixture(scope="module")
def world(spark, kafka_bootstrap, tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    contracts = root / "contracts"
    contracts.mkdir()
    (contracts / "shop.order.yaml").write_text(CONTRACT)
    topic = f"test.sweep.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    lake = str(root / "lake")
    values = [order(day, i) for day, n in zip(HISTORY_DAYS, COUNTS, strict=True) for i in range(n)]
    values += [order(DAY15, i) for i in range(11)]
    values += [order(DUPS, i, order_id=f"dup-{i % 6}") for i in range(10)]  # 4 rows repeat a key
    values += [order(NULLS, i, coupon=None if i < 6 else "C") for i in range(10)]
    values += [order(DELETED, i, received=DELETED_RECEIVED) for i in range(5)]
    write_stream_batch(
        spark, lake, values, batch_id=0, kafka_bootstrap=kafka_bootstrap, failures_topic=topic, contracts_dir=contracts
    )
    settings = BatchSettings(
        lake_uri=lake, contracts_dir=contracts, kafka_bootstrap=kafka_bootstrap, failures_topic=topic
    )
    return {"settings": settings, "lake": lake, "topic": topic, "contracts": contracts, "offset": len(values)}


def run(spark, world, date_from=None, date_to=None, tables=None, metrics=None):
    return sweep.run(
        spark,
        world["settings"],
        metrics or JobMetrics("sweep"),
        tables=tables,
        event_types=[],
        date_from=date_from,
        date_to=date_to,
    )


def by_rule(report):
    return {r.rule: r for r in report.results}


def test_a_day_far_from_its_14_day_history_is_an_anomaly_and_an_ordinary_one_is_not(spark, world, kafka_bootstrap):
    for day, n in zip(HISTORY_DAYS, COUNTS, strict=True):
        report = run(spark, world, day, day, tables=[SILVER])
        assert report.exit_code == 0, report.text()
        assert by_rule(report)["daily-volume"].observed == n
        assert report.reconciliation is None  # silver alone: no reconciliation
    ordinary = by_rule(run(spark, world, DAY15, DAY15, tables=[SILVER]))["daily-volume"]
    assert (ordinary.passed, ordinary.observed) == (True, 11.0)
    assert "14 values" in ordinary.threshold

    extra = [order(DAY15, 100 + i) for i in range(60)]
    write_stream_batch(
        spark,
        world["lake"],
        extra,
        batch_id=1,
        kafka_bootstrap=kafka_bootstrap,
        failures_topic=world["topic"],
        contracts_dir=world["contracts"],
        offset=world["offset"],
    )
    flagged = run(spark, world, DAY15, DAY15, tables=[SILVER])
    volume = by_rule(flagged)["daily-volume"]
    assert (volume.passed, volume.observed) == (False, 71.0)
    assert "14 values" in volume.threshold  # the day's own earlier sweep is not its history
    assert flagged.exit_code == 0  # a warn rule
    assert "✗ silver/events shop.order daily-volume [warn]: observed 71" in flagged.text()

    history = [r for r in read_table(spark, world["lake"], METRIC_HISTORY) if r["rule"] == "daily-volume"]
    daily = sorted((r["metric_date"], r["observed"]) for r in history if r["metric_date"] is not None)
    assert daily[:14] == [(d, float(n)) for d, n in zip(HISTORY_DAYS, COUNTS, strict=True)]
    assert daily[14:] == [(DAY15, 11.0), (DAY15, 71.0)]
    row = next(r for r in history if r["sweep_id"] == flagged.sweep_id)
    assert (row["table"], row["event_type"], row["rule_type"], row["metric"]) == (
        SILVER,
        "shop.order",
        "anomaly",
        "row_count",
    )
    assert (row["passed"], row["severity"], row["date_from"], row["date_to"]) == (False, "warn", DAY15, DAY15)


def test_duplicate_keys_and_a_null_ratio_breach_fail_the_sweep_and_reach_the_failure_topic(
    spark, world, consumer_factory
):
    metrics = JobMetrics("sweep")
    report = run(spark, world, DUPS, NULLS, metrics=metrics)
    rules = by_rule(report)
    assert (rules["orders-unique"].passed, rules["orders-unique"].observed, rules["orders-unique"].severity) == (
        False,
        4.0,
        "fail",
    )
    assert (rules["coupons-set"].passed, rules["coupons-set"].observed) == (False, 0.3)
    assert rules["daily-volume"].passed  # a two-day range has no history yet
    assert report.exit_code == 1
    assert report.reconciliation is not None
    assert report.reconciliation.mismatches == []
    sample = metrics.registry.get_sample_value
    labels = {"table": SILVER, "event_type": "shop.order", "rule": "orders-unique"}
    assert sample("weir_batch_sweep_rule_passed", {**labels, "severity": "fail"}) == 0
    assert sample("weir_batch_sweep_rule_observed", labels) == 4

    out = report.as_json()
    json.dumps(out)
    assert {"table", "event_type", "rule", "passed", "observed", "threshold", "severity", "message"} <= set(
        out["results"][0]
    )
    assert set(out["reconciliation"]) >= {"hours_checked", "mismatches"}
    assert out["reconciliation"]["hours_checked"] == 1  # the events of the 20th, received on the 21st
    assert out["sweep_id"] == report.sweep_id
    assert isinstance(out["seconds"], float)
    assert report.failures_published == 2

    consumer = consumer_factory(world["topic"])

    def mine(msgs):
        return [orjson.loads(m.value()) for m in msgs if orjson.loads(m.value()).get("sweep_id") == report.sweep_id]

    seen = consume_until(consumer, lambda msgs: len(mine(msgs)) >= 2, timeout_s=30)
    published = {
        (m.key().decode(), m.value()) for m in seen if orjson.loads(m.value()).get("sweep_id") == report.sweep_id
    }
    keys = sorted(k for k, _ in published)
    assert keys == ["sweep:silver/events/shop.order/coupons-set", "sweep:silver/events/shop.order/orders-unique"]
    for _key, value in published:
        message = orjson.loads(value)
        assert (message["stage"], message["event_id"], message["event_type"], message["table"]) == (
            "sweep",
            None,
            "shop.order",
            SILVER,
        )
        assert message["failed_rules"][0]["rule"] in {"coupons-set", "orders-unique"}


def test_a_clean_range_passes_and_rows_deleted_behind_weirs_back_are_named_by_hour(spark, world):
    clean = run(spark, world, HISTORY_DAYS[0], HISTORY_DAYS[-1])
    assert clean.exit_code == 0, clean.text()
    assert all(r.passed for r in clean.results)
    assert clean.reconciliation is not None
    assert (len(clean.reconciliation.hours), clean.reconciliation.mismatches) == (13, [])

    before = run(spark, world, DELETED, DELETED)
    assert before.reconciliation.mismatches == []
    from delta.tables import DeltaTable

    DeltaTable.forPath(spark, table_uri(world["lake"], SILVER)).delete(f"event_date = '{DELETED}'")
    metrics = JobMetrics("sweep")
    after = run(spark, world, DELETED, DELETED, metrics=metrics)
    (hour,) = after.reconciliation.mismatches
    assert (hour.hour, hour.bronze, hour.silver, hour.quarantine, hour.missing) == (
        dt.datetime(2025, 3, 25, 14),
        5,
        0,
        0,
        5,
    )
    assert after.as_json()["reconciliation"]["mismatches"] == [
        {"hour": "2025-03-25T14:00:00Z", "bronze": 5, "silver": 0, "quarantine": 0, "missing": 5}
    ]
    assert "2025-03-25 14:00Z: bronze 5 ids, silver 0 + quarantine 0 rows, missing 5" in after.text()
    assert metrics.registry.get_sample_value("weir_batch_reconciliation_mismatched_hours") == 1
    assert metrics.registry.get_sample_value("weir_batch_reconciliation_missing_rows") == 5
    ledger = [r for r in read_table(spark, world["lake"], RECONCILIATION) if r["sweep_id"] == after.sweep_id]
    assert [(r["hour"], r["bronze"], r["silver"], r["quarantine"], r["ok"]) for r in ledger] == [
        (dt.datetime(2025, 3, 25, 14), 5, 0, 0, False)
    ]


def test_the_cli_prints_one_json_object_and_exits_1_on_a_fail_rule(world):
    settings = world["settings"]
    env = {
        **os.environ,
        "WEIR_LAKE_URI": settings.lake,
        "WEIR_SPARK_JARS_DIR": str(REPO / ".weir" / "jars" / "spark"),
        "WEIR_CONTRACTS_DIR": str(world["contracts"]),
        "WEIR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "WEIR_FAILURES_TOPIC": world["topic"],
        "WEIR_SPARK_DRIVER_MEMORY": "1g",
    }
    env.pop("WEIR_PUSHGATEWAY", None)
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "weir"), "sweep", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    out = json.loads(done.stdout)
    failed = {r["rule"] for r in out["results"] if not r["passed"]}
    assert "orders-unique" in failed
    assert out["reconciliation"]["hours_checked"] > 0
    assert "weir sweep:" in done.stderr
