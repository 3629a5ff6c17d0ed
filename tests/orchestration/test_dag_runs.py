"""`dag.test()` of each DAG (in `.venv-airflow`, by subprocess) against a real lake seeded by the stream's own write
path: the tasks run the real `weir` CLI. Compaction packs the seeded day's files and maps one task per (table,
day); the rebuild rewrites exactly its data interval's day; the sweep passes, then fails (without retry) when
a `fail` rule breaks, naming it in the log."""

import datetime as dt
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.batch.support import CONTRACTS_DIR, event_on, new_topic, write_stream_batch
from tests.orchestration.support import AIRFLOW_VENV, DagLake, commits, dags_folder, days_ago, last_version, probe
from weir.stack.paths import Home

pytestmark = pytest.mark.integration

DAY = days_ago(5)


def files_per_day(table_dir: str) -> Counter[str]:
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(table_dir).get_add_actions(flatten=True)).to_pylist()
    column = "partition.event_date" if "partition.event_date" in actions[0] else "partition.ingest_date"
    return Counter(str(a[column]) for a in actions)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, spark: Any, kafka_bootstrap: str, jars_home: Home) -> DagLake:
    root = tmp_path_factory.mktemp("dag-runs")
    lake = DagLake.make(root, jars_home.jars / "spark", kafka_bootstrap, new_topic(), CONTRACTS_DIR)
    for batch in range(2):  # two micro-batches: two files in each partition, something to compact
        values = [event_on(DAY, hour=h, payload={"amount": a}) for h, a in ((9, 50.0), (10, 200.0), (11, 5000.0))]
        write_stream_batch(
            spark, lake.lake, values, batch_id=batch, kafka_bootstrap=kafka_bootstrap,
            failures_topic=lake.failures_topic, offset=batch * 10,
        )  # fmt: skip
    env = {**os.environ, **lake.airflow_env()}
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run([str(AIRFLOW_VENV / "bin" / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    return lake


def dag_test(lake: DagLake, dag_id: str, logical: dt.date) -> dict[str, Any]:
    return probe("test", dags_folder(), dag_id, logical.isoformat(), env=lake.airflow_env(), timeout_s=400)


def test_compaction_maps_one_task_per_table_and_day_and_packs_them(seeded: DagLake) -> None:
    silver, quarantine = f"{seeded.lake}/silver/events", f"{seeded.lake}/quarantine/events"
    assert files_per_day(silver)[DAY.isoformat()] >= 2  # a file per Spark task that held rows of the day
    run = dag_test(seeded, "weir_compaction", days_ago(1))
    assert run["state"] == "success", run["log"][-3000:]
    assert run["tasks"]["dedupe"] == ["success"]
    assert run["tasks"]["list_candidates"] == ["success"]
    assert run["tasks"]["compact"] == ["success"] * 3  # bronze (its ingest day), silver, quarantine
    assert run["tasks"]["publish"] == ["success"]
    assert files_per_day(silver)[DAY.isoformat()] == 1
    assert files_per_day(quarantine)[DAY.isoformat()] == 1
    assert sum(files_per_day(f"{seeded.lake}/bronze/events").values()) == 1


def test_rebuild_rewrites_exactly_its_intervals_day(seeded: DagLake) -> None:
    silver = f"{seeded.lake}/silver/events"
    before = last_version(silver)
    contract = seeded.contracts / "shop.order.yaml"
    spec = yaml.safe_load(contract.read_text())
    spec["rules"].append(
        {"id": "amount-small", "rule": "between", "field": "payload.amount", "params": {"min": 0, "max": 100},
         "severity": "warn"}
    )  # fmt: skip
    contract.write_text(yaml.safe_dump(spec))
    # Airflow 3's dag.test(logical_date=X) on a data-interval timetable runs the interval that ends at X.
    run = dag_test(seeded, "weir_rebuild", DAY + dt.timedelta(days=1))
    assert run["state"] == "success", run["log"][-3000:]
    start, end = (dt.datetime.fromisoformat(t) for t in run["data_interval"])
    assert end - start == dt.timedelta(days=1)
    assert start.date() == DAY
    touched = [c for c in commits(silver, after=before) if c.dates]
    assert touched, "the rebuild rewrote nothing in silver"
    assert {d for c in touched for d in c.dates} == {DAY.isoformat()}
    from deltalake import DeltaTable

    rows = DeltaTable(silver).to_pyarrow_table(columns=["payload", "dq_warnings"]).to_pylist()
    warned = [r for r in rows if "amount-small" in str(r["dq_warnings"])]
    assert len(warned) == 2  # the 200.0 event of each batch, by today's contract


def test_sweep_passes_then_fails_without_retry_naming_the_broken_rule(seeded: DagLake) -> None:
    run = dag_test(seeded, "weir_quality_sweep", days_ago(1))
    assert run["state"] == "success", run["log"][-3000:]
    contract = seeded.contracts / "shop.order.yaml"
    spec = yaml.safe_load(contract.read_text())
    spec.setdefault("dataset_rules", []).append(
        {"id": "amount-cap", "rule": "max_between", "field": "payload.amount", "params": {"max": 100},
         "severity": "fail"}
    )  # fmt: skip
    contract.write_text(yaml.safe_dump(spec))
    run = dag_test(seeded, "weir_quality_sweep", days_ago(1))
    assert run["state"] == "failed"
    assert run["tasks"]["sweep"] == ["failed"]  # not up_for_retry: a broken rule is a verdict
    assert "amount-cap" in run["log"]
    assert "found broken fail rules" in run["log"]
