"""`weir backfill` (batch.backfill) on a lake the stream's own write path seeded: after a contract change, a
backfill of two days rewrites exactly those partitions (from the Delta log's add/remove actions), to what
today's contracts say (an independent route of the same bronze), moves ids both ways, leaves every other day
untouched, publishes its failures with stage backfill, and keeps every id in exactly one table. Bad input is
refused with a clear error."""

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from pyspark.sql import functions as F

from batch import backfill
from batch.exceptions import BadRangeError
from batch.settings import BatchSettings
from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.routing import prepare, to_quarantine, to_silver
from lake.tables import BRONZE, QUARANTINE, SILVER, table_uri
from lake.transforms import mark_first
from observability.batch import JobMetrics
from quality import load_contracts
from tests.batch.support import CONTRACTS_DIR, event_on, write_stream_batch
from tests.support import consume_until

pytestmark = pytest.mark.integration

DAYS = [dt.date(2026, 5, 1) + dt.timedelta(days=i) for i in range(6)]
RANGE = (DAYS[2], DAYS[3])
AMOUNTS = (10.0, 500.0, 2000.0, 5000.0)  # today's contract: [450, 3000] -> 10 moves out, 2000 moves in
REPORT_KEYS = {"rows_read", "silver", "quarantine", "failures_published", "partitions", "moved_to_silver", "seconds"}


def changed_contracts(tmp_path: Path, old: str, new: str) -> Path:
    """The test contracts, copied, with `old` replaced by `new` in shop.order's."""
    out = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, out)
    path = out / "shop.order.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return out


def new_failures_topic(bootstrap: str) -> str:
    topic = f"test.failures.{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [TopicSpec(topic, 1)])
    return topic


def settings_for(tmp_path: Path, lake: str, bootstrap: str, topic: str, contracts: Path) -> BatchSettings:
    return BatchSettings(
        home=tmp_path / "home", lake_uri=lake, contracts_dir=contracts, kafka_bootstrap=bootstrap, failures_topic=topic
    )


def rows(spark: Any, lake: str, table: str) -> list[Any]:
    return spark.read.format("delta").load(table_uri(lake, table)).collect()


def log_actions(lake: str, table: str, after: int) -> list[dict[str, Any]]:
    """The add/remove actions of the commits after version `after`."""
    out = []
    for path in sorted((Path(lake) / table / "_delta_log").glob("*.json")):
        if int(path.stem) <= after:
            continue
        for line in path.read_text().splitlines():
            action = json.loads(line)
            out.extend(action[k] for k in ("add", "remove") if k in action)
    return out


def version(spark: Any, lake: str, table: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, table_uri(lake, table)).history(1).first()["version"])


def files_by_date(spark: Any, lake: str, table: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    df = spark.read.format("delta").load(table_uri(lake, table))
    for f in df.inputFiles():
        day = f.split("event_date=")[1][:10]
        out.setdefault(day, set()).add(f)
    return out


def expected(spark: Any, lake: str, contracts_dir: Path, days: tuple[dt.date, dt.date]) -> tuple[dict, dict]:
    """What today's contracts say for `days`: every bronze row routed again, the first copy of each id over all
    of bronze (the plain full window), by id: silver -> warning rules, quarantine -> failed rules."""
    bronze = spark.read.format("delta").load(table_uri(lake, BRONZE))
    kafka = bronze.select(
        F.lit(None).cast("binary").alias("key"),
        F.col("raw").cast("binary").alias("value"),
        F.col("kafka_topic").alias("topic"),
        F.col("kafka_partition").alias("partition"),
        F.col("kafka_offset").alias("offset"),
        F.col("kafka_timestamp").alias("timestamp"),
    )
    routed = mark_first(prepare(kafka, load_contracts(contracts_dir)))
    in_range = F.col("event_date").between(F.lit(days[0]), F.lit(days[1]))
    silver = {r.event_id: sorted(w.rule for w in r.dq_warnings) for r in to_silver(routed).where(in_range).collect()}
    quarantine = {
        r.quarantine_id: sorted(f.rule for f in r.failed_rules) for r in to_quarantine(routed).where(in_range).collect()
    }
    return silver, quarantine


def seed(spark: Any, lake: str, kafka_bootstrap: str) -> dict[str, Any]:
    """Four events a day over six days (one per amount), each with a note that breaks the warn rule on day 0..5
    alike, plus two re-sent events whose copies fall on other days: `early` (first copy on DAYS[1], outside the
    range; re-sent on DAYS[3], inside) and `late` (first copy on DAYS[2], re-sent on DAYS[5])."""
    records, ids = [], {}
    for day in DAYS:
        for amount in AMOUNTS:
            eid = str(uuid.uuid4())
            ids[(day, amount)] = eid
            records.append(event_on(day, event_id=eid, payload={"amount": amount, "note": " padded "}))
    early, late = str(uuid.uuid4()), str(uuid.uuid4())
    records += [
        event_on(DAYS[1], event_id=early, payload={"amount": 10.0}),
        event_on(DAYS[2], event_id=late, payload={"amount": 10.0}),
    ]
    topic = new_failures_topic(kafka_bootstrap)
    write_stream_batch(
        spark, lake, records, batch_id=0, kafka_bootstrap=kafka_bootstrap, failures_topic=topic, app_id="seed"
    )
    resent_at = dt.datetime.combine(DAYS[5] + dt.timedelta(days=2), dt.time(9))
    resent = [
        event_on(DAYS[3], event_id=early, received=resent_at, payload={"amount": 2000.0}),
        event_on(DAYS[5], event_id=late, received=resent_at, payload={"amount": 2000.0}),
    ]
    write_stream_batch(
        spark,
        lake,
        resent,
        batch_id=1,
        kafka_bootstrap=kafka_bootstrap,
        failures_topic=topic,
        app_id="seed",
        offset=len(records),
    )
    return {"ids": ids, "early": early, "late": late, "records": len(records) + len(resent)}


def test_backfill_rewrites_exactly_its_days_with_todays_contracts(
    spark, lake, tmp_path, kafka_bootstrap, consumer_factory
):
    seeded = seed(spark, lake, kafka_bootstrap)
    ids = seeded["ids"]
    before = {t: rows(spark, lake, t) for t in (SILVER, QUARANTINE)}
    assert {r.event_id for r in before[SILVER]} >= {ids[(DAYS[2], 10.0)], ids[(DAYS[2], 500.0)]}
    versions = {t: version(spark, lake, t) for t in (SILVER, QUARANTINE)}
    files_before = {t: files_by_date(spark, lake, t) for t in (SILVER, QUARANTINE)}
    contracts = changed_contracts(tmp_path, "params: {min: 0, max: 1000}", "params: {min: 450, max: 3000}")
    topic = new_failures_topic(kafka_bootstrap)
    consumer = consumer_factory(topic)

    report = backfill.run(
        spark,
        settings_for(tmp_path, lake, kafka_bootstrap, topic, contracts),
        JobMetrics("backfill"),
        date_from=RANGE[0],
        date_to=RANGE[1],
        event_types=[],
    )

    out = report.as_json()
    assert out.keys() >= REPORT_KEYS
    assert report.exit_code == 0
    # DAYS[2]: 4 events + `late`; DAYS[3]: 4 events (`early`'s copy there is not its first).
    assert (out["partitions"], out["silver"], out["quarantine"]) == (2, 4, 5)
    assert (out["moved_to_silver"], out["moved_to_quarantine"]) == (2, 3)
    assert out["rows_read"] == 12  # every copy of the 10 ids with a copy in the range (`early` and `late`: two)
    assert [d["event_date"] for d in out["dates"]] == [d.isoformat() for d in RANGE]
    assert "weir backfill:" in report.text()
    assert RANGE[0].isoformat() in report.text()

    # Exactly those partitions were rewritten, in both tables.
    for table in (SILVER, QUARANTINE):
        touched = {a["partitionValues"]["event_date"] for a in log_actions(lake, table, versions[table])}
        assert touched == {d.isoformat() for d in RANGE}, table
    # Every other day: the same files and the same rows.
    after = {t: rows(spark, lake, t) for t in (SILVER, QUARANTINE)}
    for table in (SILVER, QUARANTINE):
        files_after = files_by_date(spark, lake, table)
        for day in DAYS:
            if RANGE[0] <= day <= RANGE[1]:
                continue
            key = day.isoformat()
            assert files_after.get(key) == files_before[table].get(key), (table, key)
            old = sorted(r.asDict(recursive=True).__repr__() for r in before[table] if r.event_date == day)
            new = sorted(r.asDict(recursive=True).__repr__() for r in after[table] if r.event_date == day)
            assert old == new, (table, key)
    # The range holds what today's contracts say of the same bronze.
    want_silver, want_quarantine = expected(spark, lake, contracts, RANGE)
    in_range = lambda r: RANGE[0] <= r.event_date <= RANGE[1]  # noqa: E731
    assert {r.event_id: sorted(w.rule for w in r.dq_warnings) for r in after[SILVER] if in_range(r)} == want_silver
    got_q = {r.quarantine_id: sorted(f.rule for f in r.failed_rules) for r in after[QUARANTINE] if in_range(r)}
    assert got_q == want_quarantine
    assert ids[(DAYS[2], 2000.0)] in want_silver
    assert ids[(DAYS[3], 10.0)] in want_quarantine
    assert seeded["late"] in want_quarantine  # its first copy (amount 10, DAYS[2]) decides, not the re-sent one
    assert seeded["early"] not in want_silver | want_quarantine
    # Each id in exactly one table, none lost.
    all_ids = [r.event_id for r in after[SILVER]] + [r.quarantine_id for r in after[QUARANTINE]]
    assert len(all_ids) == len(set(all_ids)) == len(ids) + 2
    # The failures of the range's first copies, with stage backfill.
    failing = set(want_quarantine) | {k for k, v in want_silver.items() if v}
    assert out["failures_published"] == len(failing)
    seen = consume_until(consumer, lambda got: len(got) >= len(failing), timeout_s=30)
    messages = [orjson.loads(m.value()) for m in seen]
    assert {m["event_id"] for m in messages} == failing
    assert {m["stage"] for m in messages} == {"backfill"}
    assert {m.key().decode() for m in seen} == failing


def test_bad_input_is_refused_and_an_empty_lake_reports_nothing(spark, lake, tmp_path):
    settings = settings_for(tmp_path, lake, "127.0.0.1:1", "unused", CONTRACTS_DIR)
    metrics = JobMetrics("backfill")
    today = dt.datetime.now(dt.UTC).date()
    with pytest.raises(BadRangeError, match="in the future"):
        backfill.run(spark, settings, metrics, date_from=today, date_to=today + dt.timedelta(days=1), event_types=[])
    with pytest.raises(BadRangeError, match="after"):
        backfill.run(spark, settings, metrics, date_from=DAYS[3], date_to=DAYS[2], event_types=[])
    report = backfill.run(spark, settings, metrics, date_from=DAYS[0], date_to=DAYS[1], event_types=[])
    assert report.exit_code == 0
    assert report.as_json()["partitions"] == 0
    assert report.as_json()["rows_read"] == 0
    assert "no bronze table" in report.text()
    write_stream_batch(
        spark, lake, [event_on(DAYS[0])], batch_id=0, kafka_bootstrap="127.0.0.1:1", failures_topic="unused"
    )
    with pytest.raises(BadRangeError, match=r"unknown event type\(s\): no\.such; the contracts define: shop\.order"):
        backfill.run(spark, settings, metrics, date_from=DAYS[0], date_to=DAYS[1], event_types=["no.such"])
    report = backfill.run(spark, settings, metrics, date_from=DAYS[4], date_to=DAYS[5], event_types=["shop.order"])
    assert report.as_json()["partitions"] == 0
    assert "no event in bronze" in report.text()
