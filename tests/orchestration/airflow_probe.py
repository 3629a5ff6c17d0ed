"""Run inside Airflow's venv (`.venv-airflow/bin/python`, repo root on PYTHONPATH, AIRFLOW_HOME set), never by
pytest itself: `dagbag DAGS_FOLDER` prints what the DagBag parsed; `test DAGS_FOLDER DAG_ID DATE` runs
`dag.test()` for that logical date and prints each task instance's state. One JSON object on stdout."""

import datetime as dt
import json
import sys
from typing import Any


def dagbag(folder: str) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=folder)
    dags: dict[str, Any] = {}
    for dag_id, dag in bag.dags.items():
        condition = getattr(dag.timetable, "asset_condition", None)
        dags[dag_id] = {
            "tags": sorted(dag.tags),
            "owner": dag.owner,
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "doc_md": dag.doc_md or "",
            "timetable": type(dag.timetable).__name__,
            "schedule_assets": sorted(a.uri for a in getattr(condition, "objects", [])),
            "tasks": {
                t.task_id: {
                    "retries": t.retries,
                    "retry_delay_s": t.retry_delay.total_seconds(),
                    "owner": t.owner,
                    "mapped": bool(getattr(t, "is_mapped", False)),
                    "outlets": sorted(getattr(o, "uri", str(o)) for o in t.outlets),
                    "trigger_rule": str(t.trigger_rule),
                    "upstream": sorted(t.upstream_task_ids),
                }
                for t in dag.tasks
            },
        }
    return {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags}


def run_test(folder: str, dag_id: str, day: str) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=folder)
    dag = bag.dags[dag_id]
    logical = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0), tzinfo=dt.UTC)
    run = dag.test(logical_date=logical)
    tasks: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        tasks.setdefault(ti.task_id, []).append(str(ti.state))
    return {
        "state": str(run.state),
        "data_interval": [str(run.data_interval_start), str(run.data_interval_end)],
        "tasks": tasks,
    }


def main() -> None:
    cmd, folder, *rest = sys.argv[1:]
    out = dagbag(folder) if cmd == "dagbag" else run_test(folder, *rest)
    print("\n@@PROBE@@" + json.dumps(out, default=str))


if __name__ == "__main__":
    main()
