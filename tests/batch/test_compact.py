"""`weir compact` (batch.compact, batch.compact_plan): closed partitions compacted, content unchanged, open ones
untouched, idempotent, a dry run changes nothing, VACUUM behind its flag; beside a real running stream (the
issue's acceptance); and the CLI end to end. The lake is seeded once per module by the stream's own micro-batch
code (tests.batch.support) and copied for each test."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable as RsTable

from batch import compact
from batch.exceptions import BadRangeError
from batch.settings import BatchSettings
from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.tables import BRONZE, KEYS, PARTITIONS, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics
from tests.batch.support import CONTRACTS_DIR, event_on, new_topic, write_stream_batch

REPO = Path(__file__).resolve().parents[2]
TABLES = (BRONZE, SILVER, QUARANTINE)
TODAY = dt.datetime.now(dt.UTC).date()
CLOSED = [TODAY - dt.timedelta(days=d) for d in range(2, 36)]  # 34 closed dates (before yesterday)
OPEN = [TODAY - dt.timedelta(days=1), TODAY]
CONTRACT_KEYS = {"table", "partitions", "files_before", "files_after", "bytes_before", "bytes_after"}


# ---- helpers over a real lake -------------------------------------------------------------------------------------


def event(day: dt.date, *, quarantined: bool = False, event_id: str | None = None) -> bytes:
    """A `shop.order` on `day`, received the day after (or today, for today's): `amount` 5000 is quarantined."""
    received = dt.datetime.combine(min(day + dt.timedelta(days=1), TODAY), dt.time(0, 0, 1))
    payload = {"amount": 5000 if quarantined else 1.5, "items": [1]}
    return event_on(day, hour=0, received=received, payload=payload, event_id=event_id or str(uuid.uuid4()))


def settings_for(lake: str, home: Path, **extra: Any) -> BatchSettings:
    return BatchSettings(home=home, lake_uri=lake, contracts_dir=CONTRACTS_DIR, **extra)


def run(spark: Any, settings: BatchSettings, **options: Any) -> Any:
    args: dict[str, Any] = {
        "tables": None,
        "date_from": None,
        "date_to": None,
        "vacuum": False,
        "retention_hours": 168.0,
        "allow_short_retention": False,
        "dry_run": False,
    }
    args.update(options)
    return compact.run(spark, settings, JobMetrics("compact"), **args)


def files(uri: str) -> dict[str, set[str]]:
    """Partition name -> the paths of its files in the current snapshot (read by delta-rs, not Spark)."""
    table = RsTable(uri)
    columns = table.metadata().partition_columns
    out: dict[str, set[str]] = {}
    for row in pa.table(table.get_add_actions(flatten=True)).to_pylist():
        name = "/".join(f"{c}={row[f'partition.{c}']}" for c in columns)
        out.setdefault(name, set()).add(row["path"])
    return out


def closed(name: str, partition: str) -> bool:
    date = dict(kv.split("=", 1) for kv in partition.split("/"))[PARTITIONS[name][0]]
    return date != "None" and dt.date.fromisoformat(date) < TODAY - dt.timedelta(days=1)


def rows(spark: Any, uri: str, name: str) -> dict[Any, dict[str, Any]]:
    key = KEYS.get(name)
    out = {}
    for r in spark.read.format("delta").load(uri).collect():
        d = r.asDict(recursive=True)
        out[d[key] if key else (d["kafka_topic"], d["kafka_partition"], d["kafka_offset"])] = d
    return out


@pytest.fixture(scope="module")
def seeded(spark: Any, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A lake as two small stream batches leave it: every table has many small files in each of 34 closed dates,
    plus yesterday's and today's (open) partitions."""
    lake = str(tmp_path_factory.mktemp("seeded") / "lake")
    topic = new_topic()
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    started = time.monotonic()
    for batch in range(2):
        values = [event(day, quarantined=bad) for day in CLOSED + OPEN for bad in (False, True)]
        write_stream_batch(
            spark,
            lake,
            values,
            batch_id=batch,
            kafka_bootstrap=kafka_bootstrap,
            failures_topic=topic,
            offset=batch * 1000,
        )
    print(f"seeded in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return lake


@pytest.fixture
def lake_copy(seeded: str, tmp_path: Path) -> str:
    lake = str(tmp_path / "lake")
    shutil.copytree(seeded, lake)
    return lake


# ---- compaction of a seeded lake ----------------------------------------------------------------------------------


@pytest.mark.integration
def test_closed_partitions_are_compacted_content_unchanged_open_ones_untouched_and_again_is_nothing(
    spark, lake_copy, tmp_path
):
    settings = settings_for(lake_copy, tmp_path)
    uris = {name: table_uri(lake_copy, name) for name in TABLES}
    before_files = {name: files(uri) for name, uri in uris.items()}
    before_rows = {name: rows(spark, uri, name) for name, uri in uris.items()}
    for name in TABLES:
        assert sum(len(f) >= 2 for p, f in before_files[name].items() if closed(name, p)) >= 30, name

    dry = run(spark, settings, dry_run=True)
    versions = {name: RsTable(uri).version() for name, uri in uris.items()}
    assert dry.as_json()["dry_run"] is True
    assert all(t["partitions"] >= 30 and t["files_after"] == t["files_before"] for t in dry.as_json()["tables"])
    assert "dry run: would compact" in dry.text()
    assert {name: files(uri) for name, uri in uris.items()} == before_files  # nothing changed

    report = run(spark, settings)
    out = report.as_json()
    assert {name: RsTable(uri).version() for name, uri in uris.items()} != versions
    assert out["closed_before"] == OPEN[0].isoformat()
    assert out["dry_run"] is False
    for table in out["tables"]:
        name = table["table"]
        assert CONTRACT_KEYS | {"seconds", "candidates", "vacuumed_files"} <= set(table)
        assert table["partitions"] == len(table["candidates"]) >= 30
        assert table["files_after"] < table["files_before"]
        assert table["vacuumed_files"] is None
        assert all(set(c) == {"partition", "date", "files", "bytes"} for c in table["candidates"])
        assert all(dt.date.fromisoformat(c["date"]) < OPEN[0] for c in table["candidates"])
        after = files(uris[name])
        for partition, paths in after.items():
            if closed(name, partition):
                assert len(paths) <= 2, (name, partition, len(paths))
            else:
                assert paths == before_files[name][partition], (name, partition)  # open: not rewritten
        assert sum(len(p) for p in after.values()) == sum(len(p) for p in before_files[name].values()) - (
            table["files_before"] - table["files_after"]
        )
        # Delta did what the plan's bin packing predicted.
        [result] = [t for t in report.tables if t.table == name]
        assert table["files_after"] == sum(c.files_after for c in result.candidates)
        assert table["files_removed"] - table["files_added"] == table["files_before"] - table["files_after"]
        assert rows(spark, uris[name], name) == before_rows[name], name  # every row, every column
    summary = report.text().splitlines()[-1]
    assert summary.startswith("compacted ")
    assert "of 3 tables" in summary
    assert report.text().splitlines()[0].split() == [
        "table",
        "partitions",
        "files",
        "before",
        "->",
        "after",
        "MB",
        "before",
        "->",
        "after",
        "seconds",
    ]

    compacted = {name: RsTable(uri).version() for name, uri in uris.items()}
    again = run(spark, settings)
    assert again.as_json()["nothing_to_compact"] is True
    assert all(t["partitions"] == 0 and t["candidates"] == [] for t in again.as_json()["tables"])
    assert again.text().splitlines()[-1].startswith("nothing to compact: every closed partition")
    assert {name: RsTable(uri).version() for name, uri in uris.items()} == compacted  # no commit at all


@pytest.mark.integration
def test_a_date_range_narrows_it_and_one_reaching_into_open_dates_stops_at_the_closed_ones(spark, lake_copy, tmp_path):
    settings = settings_for(lake_copy, tmp_path)
    lo = CLOSED[4]
    report = run(spark, settings, tables=[SILVER], date_from=lo, date_to=TODAY + dt.timedelta(days=3), dry_run=True)
    [table] = report.as_json()["tables"]
    dates = {c["date"] for c in table["candidates"]}
    assert dates == {d.isoformat() for d in CLOSED if d >= lo}
    assert any("reaches into open dates" in n for n in report.as_json()["notes"])
    with pytest.raises(BadRangeError, match="unknown table"):
        run(spark, settings, tables=["gold/events"])


@pytest.mark.integration
def test_vacuum_needs_its_flag_below_seven_days_then_deletes_the_compacted_away_files(spark, lake_copy, tmp_path):
    settings = settings_for(lake_copy, tmp_path)
    ONE = (SILVER,)  # noqa: N806 - one table is enough to prove it, and quicker
    with pytest.raises(BadRangeError, match="--allow-short-retention"):
        run(spark, settings, vacuum=True, retention_hours=1)
    recent = CLOSED[4]  # the last five closed dates: enough to prove it, quicker than all
    run(spark, settings, tables=ONE, date_from=recent)  # compact; the old files stay on disk

    def on_disk(name: str) -> set[str]:
        root = Path(table_uri(lake_copy, name))
        return {str(p.relative_to(root)) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts}

    referenced = {name: {p for paths in files(table_uri(lake_copy, name)).values() for p in paths} for name in ONE}
    unreferenced = {name: on_disk(name) - referenced[name] for name in ONE}
    assert all(unreferenced.values())
    content = {name: rows(spark, table_uri(lake_copy, name), name) for name in ONE}

    short = {"vacuum": True, "retention_hours": 0, "allow_short_retention": True, "date_from": recent, "tables": ONE}
    dry = run(spark, settings, dry_run=True, **short)
    assert {t["table"]: t["vacuumed_files"] for t in dry.as_json()["tables"]} == {
        name: len(unreferenced[name]) for name in ONE
    }
    assert all(on_disk(name) - referenced[name] == unreferenced[name] for name in ONE)  # a dry run deletes nothing

    report = run(spark, settings, **short)
    assert {t["table"]: t["vacuumed_files"] for t in report.as_json()["tables"]} == {
        name: len(unreferenced[name]) for name in ONE
    }
    assert "vacuum (retention 0 h) deleted files" in report.text()
    for name in ONE:
        assert on_disk(name) == referenced[name]
        assert rows(spark, table_uri(lake_copy, name), name) == content[name]


@pytest.mark.integration
def test_the_cli_prints_one_json_object(lake_copy, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WEIR_")},
        "WEIR_HOME": str(tmp_path / "home"),
        "WEIR_LAKE_URI": lake_copy,
        "WEIR_SPARK_JARS_DIR": str(REPO / ".weir" / "jars" / "spark"),
        "WEIR_SPARK_DRIVER_MEMORY": "1g",
    }
    done = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "weir"),
            "compact",
            "--json",
            "--vacuum",
            "--table",
            SILVER,
            "--table",
            BRONZE,
            "--from",
            str(CLOSED[5]),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)  # the whole of stdout is one JSON object (VACUUM's own output went to stderr)
    assert [t["table"] for t in out["tables"]] == [SILVER, BRONZE]
    for table in out["tables"]:
        assert set(table) >= CONTRACT_KEYS
        assert table["partitions"] == 6  # --from: the last six closed dates
        assert table["files_after"] < table["files_before"]
        assert table["vacuumed_files"] == 0  # nothing is older than 7 days yet
    assert out["closed_before"] == OPEN[0].isoformat()
    assert "weir compact: compacted" in done.stderr  # the progress summary line


# ---- beside a running stream --------------------------------------------------------------------------------------


@pytest.fixture
def stream_topics(kafka_bootstrap: str) -> tuple[str, str]:
    topic, failures = f"test.events.{uuid.uuid4().hex[:8]}", f"test.failures.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 2), TopicSpec(failures, 1)])
    return topic, failures


@pytest.mark.integration
def test_compaction_beside_a_running_stream_loses_nothing_duplicates_nothing_and_never_stops_it(
    spark, kafka_bootstrap, producer_factory, stream_topics, tmp_path
):
    from streaming.job import BatchResult, start_query
    from streaming.settings import StreamSettings

    topic, failures = stream_topics
    stream = StreamSettings(
        home=tmp_path,
        kafka_bootstrap=kafka_bootstrap,
        spark_jars_dir=tmp_path / "unused",
        max_offsets_per_trigger=8000,
        trigger_seconds=0.5,
        events_topic=topic,
        failures_topic=failures,
        contracts_dir=CONTRACTS_DIR,
    )
    producer = producer_factory(**{"linger.ms": 20})
    produced: list[str] = []
    days = [*CLOSED, TODAY]

    def produce(n: int) -> None:
        for _ in range(n):
            event_id = str(uuid.uuid4())
            day = days[len(produced) % len(days)]
            producer.produce(
                topic, key=event_id.encode(), value=event(day, quarantined=len(produced) % 9 == 0, event_id=event_id)
            )
            produced.append(event_id)
        assert producer.flush(30) == 0

    batches: list[tuple[float, BatchResult]] = []
    produce(16_000)
    query: Any = start_query(spark, stream, on_batch=lambda r: batches.append((time.monotonic(), r)))
    try:
        deadline = time.monotonic() + 180
        while sum(r.bronze_rows for _, r in batches) < 16_000 and time.monotonic() < deadline:
            assert query.isActive, query.exception()
            time.sleep(0.2)

        compacting = threading.Event()
        trickle_errors: list[BaseException] = []

        def trickle() -> None:  # more events, to closed dates and today, for as long as the compaction runs
            try:
                sent = 0
                while compacting.is_set() or sent < 4_000:
                    produce(250)
                    sent += 250
                    time.sleep(0.3)
            except BaseException as exc:
                trickle_errors.append(exc)

        settings = settings_for(stream.lake, tmp_path)
        compacting.set()
        producer_thread = threading.Thread(target=trickle)
        producer_thread.start()
        time.sleep(1.0)
        started = time.monotonic()
        first = run(spark, settings)
        ended = time.monotonic()
        compacting.clear()
        producer_thread.join(120)
        assert not trickle_errors

        during = [r for at, r in batches if started <= at <= ended and r.bronze_rows]
        assert during, "the stream committed no batch while the compaction ran"
        for table in first.as_json()["tables"]:
            assert table["partitions"] >= 30, table
            # files_after also counts what the stream appended meanwhile (one file per partition per batch): what
            # the compaction itself did is in OPTIMIZE's own figures.
            assert table["files_added"] <= table["partitions"] < table["files_removed"], table

        total = len(produced)
        assert total >= 20_000
        deadline = time.monotonic() + 180
        while sum(r.bronze_rows for _, r in batches) < total and time.monotonic() < deadline:
            assert query.isActive, query.exception()
            time.sleep(0.2)
        second = run(spark, settings)  # the late events' files, compacted too, the stream still running
        assert query.isActive
        assert query.exception() is None
    finally:
        query.stop()
    assert query.exception() is None

    for name in TABLES:
        for partition, paths in files(table_uri(stream.lake, name)).items():
            if closed(name, partition):
                assert len(paths) <= 2, (name, partition, len(paths))
    assert second.as_json()["closed_before"] == OPEN[0].isoformat()

    silver = [
        r["event_id"]
        for r in spark.read.format("delta").load(table_uri(stream.lake, SILVER)).select("event_id").collect()
    ]
    quarantine = [
        r["event_id"]
        for r in spark.read.format("delta").load(table_uri(stream.lake, QUARANTINE)).select("event_id").collect()
    ]
    bronze = [
        r["event_id"]
        for r in spark.read.format("delta").load(table_uri(stream.lake, BRONZE)).select("event_id").collect()
    ]
    assert len(silver) == len(set(silver))
    assert len(quarantine) == len(set(quarantine))
    assert not set(silver) & set(quarantine)
    assert sorted(silver + quarantine) == sorted(produced)  # every id exactly once
    assert sorted(bronze) == sorted(produced)  # bronze holds every record, once
    assert len(quarantine) == sum(1 for i in range(total) if i % 9 == 0)
