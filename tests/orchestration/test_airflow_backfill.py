"""The issue's acceptance: a real Airflow (`weir.stack.airflow`: api-server, scheduler, dag-processor, from
`.venv-airflow`) over a lake seeded across 6 days; `airflow backfill create --dag-id weir_rebuild` over 3 of them
after a contract change; the scheduler runs one `weir_rebuild` run per day, each `weir backfill` of its own day.
The Delta logs of silver and quarantine then show commits touching exactly those 3 days' partitions, every
other day's files untouched, and the content what the changed contract says on exactly those days."""

import os
import subprocess
import time
from typing import Any

import pytest
import yaml

from tests.batch.support import CONTRACTS_DIR, event_on, new_topic, write_stream_batch
from tests.orchestration.support import DagLake, commits, days_ago, last_version
from tests.support import free_port
from weir.stack.paths import Home

pytestmark = pytest.mark.integration

DAYS = [days_ago(n) for n in range(10, 4, -1)]  # six past days, none of them yesterday (the scheduled run's)
REBUILT = DAYS[1:4]
AMOUNTS = (50.0, 200.0, 700.0, 5000.0)  # ok / warned by the new rule / quarantined by the new limit / quarantined


def add_files(table_dir: str) -> dict[str, set[str]]:
    import pyarrow as pa
    from deltalake import DeltaTable

    out: dict[str, set[str]] = {}
    for action in pa.table(DeltaTable(table_dir).get_add_actions(flatten=True)).to_pylist():
        out.setdefault(str(action["partition.event_date"]), set()).add(action["path"])
    return out


def rows(table_dir: str, *columns: str) -> list[dict[str, Any]]:
    from deltalake import DeltaTable

    return DeltaTable(table_dir).to_pyarrow_table(columns=list(columns)).to_pylist()


def change_contract(lake: DagLake) -> None:
    """Today's contract: amounts above 500 are quarantined (was 1000), and a new warn rule flags those above 100."""
    path = lake.contracts / "shop.order.yaml"
    spec = yaml.safe_load(path.read_text())
    for rule in spec["rules"]:
        if rule["id"] == "amount-in-range":
            rule["params"]["max"] = 500
    spec["rules"].append(
        {"id": "amount-small", "rule": "between", "field": "payload.amount", "params": {"min": 0, "max": 100},
         "severity": "warn"}
    )  # fmt: skip
    path.write_text(yaml.safe_dump(spec))


def test_an_airflow_backfill_rebuilds_exactly_its_days(
    tmp_path: Any, spark: Any, kafka_bootstrap: str, jars_home: Home
) -> None:
    lake = DagLake.make(tmp_path, jars_home.jars / "spark", kafka_bootstrap, new_topic(), CONTRACTS_DIR)
    values = [event_on(day, hour=8 + i, payload={"amount": a}) for day in DAYS for i, a in enumerate(AMOUNTS)]
    write_stream_batch(
        spark, lake.lake, values, batch_id=0, kafka_bootstrap=kafka_bootstrap, failures_topic=lake.failures_topic
    )
    silver, quarantine = f"{lake.lake}/silver/events", f"{lake.lake}/quarantine/events"
    versions = {t: last_version(t) for t in (silver, quarantine)}
    files_before = {t: add_files(t) for t in (silver, quarantine)}
    change_contract(lake)

    airflow = lake.airflow(free_port())
    try:
        lines: list[str] = []
        api = airflow.up(lake.weir_env(), lines.append, unpause=["weir_rebuild"])
        assert any("login 'admin'" in line and airflow.url in line for line in lines), lines
        env = {**os.environ, **lake.airflow_env(airflow.port)}
        created = subprocess.run(
            [str(airflow.airflow), "backfill", "create", "--dag-id", "weir_rebuild",
             "--from-date", REBUILT[0].isoformat(), "--to-date", REBUILT[-1].isoformat(),
             "--max-active-runs", "1", "--reprocess-behavior", "completed"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert created.returncode == 0, f"`airflow backfill create` exited {created.returncode}:\n{created.stderr}"
        backfills = api.request("GET", "/backfills", params={"dag_id": "weir_rebuild"})["backfills"]
        assert len(backfills) == 1
        deadline = time.monotonic() + 420
        while api.request("GET", f"/backfills/{backfills[0]['id']}")["completed_at"] is None:
            assert time.monotonic() < deadline, "the backfill did not complete: see " + str(airflow.home.logs)
            time.sleep(3)
        runs = api.request("GET", "/dags/weir_rebuild/dagRuns", params={"run_type": "backfill", "limit": 50})
    finally:
        airflow.down(lambda _: None)

    backfill_runs = runs["dag_runs"]
    assert sorted(r["data_interval_start"][:10] for r in backfill_runs) == [d.isoformat() for d in REBUILT]
    assert {r["state"] for r in backfill_runs} == {"success"}

    rebuilt = {d.isoformat() for d in REBUILT}
    for table in (silver, quarantine):
        touched = [c for c in commits(table, after=versions[table]) if c.dates]
        assert {d for c in touched for d in c.dates} == rebuilt, (table, touched)
        after = add_files(table)
        for day in DAYS:
            if day.isoformat() not in rebuilt:
                assert after.get(day.isoformat()) == files_before[table].get(day.isoformat()), (table, day)

    for row in rows(silver, "event_date", "payload", "dq_warnings"):
        day, amount, warned = str(row["event_date"]), str(row["payload"]), "amount-small" in str(row["dq_warnings"])
        if day in rebuilt:
            assert "700" not in amount, row  # quarantined by today's limit
            assert warned == ("200" in amount), row
        else:
            assert not warned, row  # yesterday's contract, untouched
    moved = [r for r in rows(quarantine, "event_date", "payload") if "700" in str(r["payload"])]
    assert sorted(str(r["event_date"]) for r in moved) == sorted(rebuilt)
