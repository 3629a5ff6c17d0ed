"""The DAG files as Airflow's DagBag parses them (in `.venv-airflow`, by subprocess): no import errors, the three
DAGs, and what each promises: tags, owners, retries with a delay, max_active_runs, doc_md, the schedules (a
data-interval timetable for weir_rebuild, the compaction Asset for the sweep), mapping and the one outlet."""

from typing import Any

import pytest

from orchestration.defaults import COMPACTED_ASSET_URI, DAG_IDS, OWNER
from tests.orchestration.support import dags_folder, probe
from weir.stack.paths import REPO_ROOT


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPATH": str(REPO_ROOT)}
    return probe("dagbag", dags_folder(), env=env, timeout_s=120)


def test_the_three_dags_import_cleanly(bag: dict[str, Any]) -> None:
    assert bag["import_errors"] == {}
    assert sorted(bag["dags"]) == sorted(DAG_IDS)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_dag_has_tags_owner_retries_limits_and_docs(bag: dict[str, Any], dag_id: str) -> None:
    dag = bag["dags"][dag_id]
    assert "weir" in dag["tags"]
    assert len(dag["tags"]) >= 2
    assert dag["owner"] == OWNER
    assert dag["max_active_runs"] == 1
    assert dag["catchup"] is False
    assert dag_id in dag["doc_md"]
    assert "docs/orchestration.md" in dag["doc_md"]
    for task_id, task in dag["tasks"].items():
        assert task["owner"] == OWNER, task_id
        assert task["retries"] >= 1, task_id
        assert task["retry_delay_s"] > 0, task_id


def test_compaction_maps_over_candidates_and_updates_the_asset_once(bag: dict[str, Any]) -> None:
    dag = bag["dags"]["weir_compaction"]
    tasks = dag["tasks"]
    assert dag["timetable"] == "CronTriggerTimetable"
    assert tasks["compact"]["mapped"] is True
    assert tasks["list_candidates"]["mapped"] is False
    assert "dedupe" in tasks["list_candidates"]["upstream"]
    with_outlets = {t: v["outlets"] for t, v in tasks.items() if v["outlets"]}
    assert with_outlets == {"publish": [COMPACTED_ASSET_URI]}
    assert tasks["publish"]["mapped"] is False  # one asset event per run, not one per map index


def test_rebuild_has_a_data_interval_timetable(bag: dict[str, Any]) -> None:
    dag = bag["dags"]["weir_rebuild"]
    assert dag["timetable"] == "CronDataIntervalTimetable"
    assert "airflow backfill create --dag-id weir_rebuild" in dag["doc_md"]


def test_sweep_is_scheduled_by_the_compaction_asset(bag: dict[str, Any]) -> None:
    dag = bag["dags"]["weir_quality_sweep"]
    assert dag["timetable"] == "AssetTriggeredTimetable"
    assert dag["schedule_assets"] == [COMPACTED_ASSET_URI]
