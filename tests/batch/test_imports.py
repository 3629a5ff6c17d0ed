"""`weir import` (batch.imports): NDJSON, CSV and Parquet files through the gateway's envelope and the contracts
into a real lake, exactly once; malformed files refused whole with their file and line, nothing written; an
event the stream already wrote is not inserted again; the CLI in a subprocess."""

import csv
import datetime as dt
import gzip
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch import imports
from batch.exceptions import ImportFileError
from batch.import_files import stage_all
from batch.settings import BatchSettings
from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.tables import BRONZE, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics
from tests.batch.support import CONTRACTS_DIR, event_on, write_stream_batch
from tests.support import consume_until
from weir.stack.paths import REPO_ROOT

CONTRACT_KEYS = {"rows_read", "silver", "quarantine", "failures_published"}
FILE_KEYS = {"path", "format", "rows", "bronze", "silver", "quarantine", "skipped_already_imported"}
DAYS = [dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 7)]


def envelope(day: dt.date, amount: float = 10.0, **fields: Any) -> dict[str, Any]:
    """A `shop.order` envelope as a client would have posted it (no tenant, no received_at)."""
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "shop.order",
        "schema_version": 1,
        "occurred_at": f"{day.isoformat()}T08:30:00Z",
        "source": "legacy",
        "payload": {"amount": amount},
    }
    base.update(fields)
    return base


def write_ndjson(path: Path, items: list[Any], *, lines: list[bytes] | None = None) -> Path:
    body = b"".join(orjson.dumps(i) + b"\n" for i in items) if lines is None else b"".join(lines)
    path.write_bytes(gzip.compress(body) if path.suffix == ".gz" else body)
    return path


def write_csv(path: Path, items: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    names = columns or ["event_id", "event_type", "schema_version", "occurred_at", "source", "key", "payload"]
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(names)
        for item in items:
            out.writerow(
                [json.dumps(item[n]) if n == "payload" else ("" if item.get(n) is None else item[n]) for n in names]
            )
    return path


def write_parquet(path: Path, items: list[dict[str, Any]]) -> Path:
    """payload as a struct and occurred_at as a UTC timestamp (not text): both are converted by the import."""
    table = pa.table(
        {
            "event_id": [i["event_id"] for i in items],
            "event_type": [i["event_type"] for i in items],
            "occurred_at": pa.array(
                [dt.datetime.fromisoformat(i["occurred_at"]) for i in items], pa.timestamp("us", tz="UTC")
            ),
            "payload": pa.array([i["payload"] for i in items], pa.struct([("amount", pa.float64())])),
        }
    )
    pq.write_table(table, path)
    return path


def settings_for(tmp_path: Path, lake: str, bootstrap: str = "127.0.0.1:1", topic: str = "unused") -> BatchSettings:
    return BatchSettings(
        home=tmp_path / "home",
        lake_uri=lake,
        contracts_dir=CONTRACTS_DIR,
        kafka_bootstrap=bootstrap,
        failures_topic=topic,
    )


def run_import(spark: Any, settings: BatchSettings, paths: list[Path], tenant: str = "acme") -> dict[str, Any]:
    report = imports.run(spark, settings, JobMetrics("import"), paths=[str(p) for p in paths], fmt=None, tenant=tenant)
    assert report.exit_code == 0
    return report.as_json()


def read(spark: Any, lake: str, name: str) -> list[Any]:
    return spark.read.format("delta").load(table_uri(lake, name)).collect()


def version(spark: Any, lake: str, name: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, table_uri(lake, name)).history(1).first()["version"])


def new_failures_topic(bootstrap: str) -> str:
    topic = f"test.failures.{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [TopicSpec(topic, 1)])
    return topic


# -- refusals: pure Python, no Spark ---------------------------------------------------------------------------


def refusal(tmp_path: Path, *paths: Path) -> str:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    with pytest.raises(ImportFileError) as caught:
        stage_all(list(paths), None, tenant="t", imported_at=dt.datetime.now(dt.UTC), into=staging)
    return str(caught.value)


def test_a_bad_json_line_is_named_by_file_and_line(tmp_path):
    good = orjson.dumps(envelope(DAYS[0])) + b"\n"
    bad = write_ndjson(tmp_path / "bad.ndjson.gz", [], lines=[good, b"\n", b'{"event_id": oops}\n', good])
    assert f"{bad}:3: not JSON" in refusal(tmp_path, bad)


def test_a_csv_row_with_a_missing_field_and_a_missing_column_are_named(tmp_path):
    rows = write_csv(tmp_path / "rows.csv", [envelope(DAYS[0]), envelope(DAYS[1])])
    text = rows.read_text().splitlines()
    text[2] = text[2].rsplit(",", 1)[0]  # line 3 loses its last field
    rows.write_text("\n".join(text) + "\n")
    assert f"{rows}:3: 6 fields where the header has 7" in refusal(tmp_path, rows)
    cols = write_csv(tmp_path / "cols.csv", [envelope(DAYS[0])], ["event_id", "event_type", "occurred_at"])
    assert f"{cols}:1: missing required column(s): payload" in refusal(tmp_path, cols)
    cell = write_csv(tmp_path / "cell.csv", [envelope(DAYS[0])])
    cell.write_text(cell.read_text().replace('"{""amount"": 10.0}"', '"{""amount"": }"'))
    assert f"{cell}:2: payload is not JSON" in refusal(tmp_path, cell)


def test_a_file_named_parquet_that_is_not_parquet_is_refused(tmp_path):
    fake = write_ndjson(tmp_path / "fake.parquet", [envelope(DAYS[0])])
    assert f"{fake}: not a Parquet file" in refusal(tmp_path, fake)


def test_an_envelope_the_gateway_would_refuse_names_line_field_and_message(tmp_path):
    items = [envelope(DAYS[0]), envelope(DAYS[0], occurred_at="2025-03-01 08:30")]
    bad = write_ndjson(tmp_path / "env.jsonl", items)
    message = refusal(tmp_path, bad)
    assert f"{bad}:2: occurred_at:" in message
    assert "not an RFC 3339 timestamp" in message
    rows = write_csv(tmp_path / "env.csv", [envelope(DAYS[0], event_type="Bad Type")])
    assert f"{rows}:2: event_type: String should match pattern" in refusal(tmp_path, rows)
    table = pa.table({"event_id": ["x"], "event_type": ["shop.order"], "occurred_at": ["2025-03-01T00:00:00Z"],
                      "payload": ['{"amount": 1}']})  # fmt: skip
    pq.write_table(table, tmp_path / "env.parquet")
    assert f"{tmp_path / 'env.parquet'}: row 1: event_id: Input should be a valid UUID" in refusal(
        tmp_path, tmp_path / "env.parquet"
    )


def test_with_several_files_every_refused_file_is_named_and_nothing_is_imported(tmp_path):
    good = write_ndjson(tmp_path / "good.ndjson", [envelope(DAYS[0])])
    bad = write_ndjson(tmp_path / "bad.ndjson", [envelope(DAYS[0]), {"event_id": 1}])
    fake = write_ndjson(tmp_path / "fake.parquet", [envelope(DAYS[0])])
    message = refusal(tmp_path, good, bad, fake)
    assert "2 of 3 files refused" in message
    assert f"{bad}:2: " in message
    assert f"{fake}: not a Parquet file" in message
    assert "nothing was imported" in message
    assert str(good) not in message


# -- into a real lake --------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_ndjson_csv_and_parquet_are_imported_once_and_again_write_nothing(
    spark, lake, tmp_path, kafka_bootstrap, consumer_factory
):
    topic = new_failures_topic(kafka_bootstrap)
    settings = settings_for(tmp_path, lake, kafka_bootstrap, topic)
    stamped = "2025-03-02T09:00:00.000000Z"
    ndjson_items = [
        envelope(DAYS[0]),
        envelope(DAYS[1], received_at=stamped, tenant="ignored"),
        envelope(DAYS[2], amount=5000.0),  # breaks amount-in-range (quarantine)
    ]
    ndjson_items.append(dict(ndjson_items[0]))  # the same event twice: bronze keeps both, silver one
    csv_items = [envelope(DAYS[0]), envelope(DAYS[2], key="k-1")]
    parquet_items = [envelope(DAYS[1]), envelope(DAYS[2])]
    files = [
        write_ndjson(tmp_path / "old.ndjson", ndjson_items),
        write_csv(tmp_path / "old.csv", csv_items),
        write_parquet(tmp_path / "old.parquet", parquet_items),
    ]
    consumer = consumer_factory(topic)

    first = run_import(spark, settings, files)

    valid = [i["event_id"] for i in (*ndjson_items[:2], *csv_items, *parquet_items)]
    bad = ndjson_items[2]["event_id"]
    assert first.keys() >= CONTRACT_KEYS
    assert (first["rows_read"], first["silver"], first["quarantine"], first["failures_published"]) == (8, 6, 1, 1)
    assert [(f["format"], f["rows"], f["bronze"]) for f in first["files"]] == [
        ("ndjson", 4, 4), ("csv", 2, 2), ("parquet", 2, 2)
    ]  # fmt: skip
    assert all(f.keys() >= FILE_KEYS and not f["skipped_already_imported"] for f in first["files"])
    bronze = read(spark, lake, BRONZE)
    assert sorted(r["event_id"] for r in bronze) == sorted([*valid, bad, ndjson_items[0]["event_id"]])
    assert {r["kafka_topic"] for r in bronze} == {"import:old.ndjson", "import:old.csv", "import:old.parquet"}
    raw = {r["event_id"]: orjson.loads(r["raw"]) for r in bronze}
    assert raw[valid[1]]["received_at"] == stamped
    assert raw[valid[1]]["tenant"] == "acme"
    assert raw[parquet_items[0]["event_id"]]["occurred_at"] == f"{DAYS[1]}T08:30:00.000000Z"
    assert raw[parquet_items[0]["event_id"]]["payload"] == {"amount": 10.0}
    silver = read(spark, lake, SILVER)
    assert sorted(r["event_id"] for r in silver) == sorted(valid)
    assert {r["event_date"] for r in silver} == set(DAYS)
    assert {r["tenant"] for r in silver} == {"acme"}
    quarantine = read(spark, lake, QUARANTINE)
    assert [(r["quarantine_id"], r["event_date"]) for r in quarantine] == [(bad, DAYS[2])]
    assert [f["rule"] for f in quarantine[0]["failed_rules"]] == ["amount-in-range"]
    messages = consume_until(consumer, lambda seen: len(seen) >= 1, timeout_s=30)
    verdicts = [orjson.loads(m.value()) for m in messages]
    assert [(v["event_id"], v["stage"], v["tenant"]) for v in verdicts] == [(bad, "backfill", "acme")]
    versions = {name: version(spark, lake, name) for name in (BRONZE, SILVER, QUARANTINE)}

    again = run_import(spark, settings, files)

    assert (again["rows_read"], again["silver"], again["quarantine"], again["failures_published"]) == (8, 0, 0, 0)
    assert [(f["bronze"], f["skipped_already_imported"]) for f in again["files"]] == [(0, True)] * 3
    assert {name: version(spark, lake, name) for name in versions} == versions
    assert len(read(spark, lake, BRONZE)) == len(bronze)
    assert consumer.consume(num_messages=10, timeout=3) == []


@pytest.mark.integration
def test_an_event_the_stream_wrote_is_not_inserted_again_and_a_refused_file_changes_nothing(
    spark, lake, tmp_path, kafka_bootstrap
):
    topic = new_failures_topic(kafka_bootstrap)
    settings = settings_for(tmp_path, lake, kafka_bootstrap, topic)
    seen_id, quarantined_id = str(uuid.uuid4()), str(uuid.uuid4())
    write_stream_batch(
        spark,
        lake,
        # The stream has it on another day than the file says: it is still the same event.
        [event_on(DAYS[1], event_id=seen_id), event_on(DAYS[0], event_id=quarantined_id, payload={"amount": -1})],
        batch_id=0,
        kafka_bootstrap=kafka_bootstrap,
        failures_topic=topic,
    )
    fresh = envelope(DAYS[0])
    path = write_ndjson(
        tmp_path / "seen.ndjson",
        [envelope(DAYS[0], event_id=seen_id), envelope(DAYS[0], event_id=quarantined_id), fresh],
    )

    out = run_import(spark, settings, [path])

    assert (out["silver"], out["quarantine"], out["failures_published"]) == (1, 0, 0)
    silver = read(spark, lake, SILVER)
    assert sorted(r["event_id"] for r in silver) == sorted([seen_id, fresh["event_id"]])
    assert [r["quarantine_id"] for r in read(spark, lake, QUARANTINE)] == [quarantined_id]

    versions = {name: version(spark, lake, name) for name in (BRONZE, SILVER, QUARANTINE)}
    good = write_ndjson(tmp_path / "more.ndjson", [envelope(DAYS[2])])
    bad = write_ndjson(tmp_path / "bad.ndjson", [envelope(DAYS[2]), envelope(DAYS[2], occurred_at="yesterday")])
    with pytest.raises(ImportFileError, match=rf"{bad}:2: occurred_at"):
        run_import(spark, settings, [good, bad])
    assert {name: version(spark, lake, name) for name in versions} == versions


@pytest.mark.integration
def test_the_cli_prints_one_json_object_and_a_malformed_file_exits_1(jars_home, lake, tmp_path, kafka_bootstrap):
    topic = new_failures_topic(kafka_bootstrap)
    env = {
        **os.environ,
        "WEIR_HOME": str(tmp_path / "home"),
        "WEIR_LAKE_URI": lake,
        "WEIR_SPARK_JARS_DIR": str(jars_home.jars / "spark"),
        "WEIR_CONTRACTS_DIR": str(CONTRACTS_DIR),
        "WEIR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WEIR_FAILURES_TOPIC": topic,
        "WEIR_SPARK_DRIVER_MEMORY": "1g",
    }
    env.pop("WEIR_PUSHGATEWAY", None)
    weir = str(REPO_ROOT / ".venv" / "bin" / "weir")
    good = write_ndjson(tmp_path / "f.ndjson", [envelope(DAYS[0]), envelope(DAYS[1], amount=-3.0)])

    def weir_import(*args: str) -> subprocess.CompletedProcess[str]:
        command = [weir, "import", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240, check=False)

    done = weir_import(str(good), "--json")

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out.keys() >= CONTRACT_KEYS
    assert (out["rows_read"], out["silver"], out["quarantine"], out["failures_published"]) == (2, 1, 1, 1)
    assert "weir import: 1 file(s), 2 rows read" in done.stderr

    bad = write_ndjson(tmp_path / "g.ndjson", [], lines=[b"{}\n", b"not json\n"])
    done = weir_import(str(bad))
    assert done.returncode == 1
    assert f"{bad}:1: " in done.stderr
    assert done.stdout == ""
