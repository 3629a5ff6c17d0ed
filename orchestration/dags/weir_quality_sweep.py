# mypy: disable-error-code="import-not-found,untyped-decorator"
# (Airflow lives in its own venv, .venv-airflow, not in the one mypy checks the packages with.)
"""
### weir_quality_sweep: every dataset rule and the reconciliation, after each compaction

Scheduled by the Asset `weir://lake/compacted` (updated once by each `weir_compaction` run): runs
`weir sweep --json` (every dataset rule of every contract over each table in one scan, the metric history
under `_weir/`, the reconciliation ledger). When a `fail` rule broke (exit 1) the task fails at once, without
retries, and its log names each failing rule and each reconciliation mismatch; other errors are retried.

To sweep now: trigger the DAG (UI ▶, or `airflow dags trigger weir_quality_sweep`). See docs/orchestration.md.
"""

from typing import Any

from airflow.sdk import Asset, dag, task
from airflow.sdk.exceptions import AirflowFailException

from orchestration import commands
from orchestration.defaults import COMPACTED_ASSET_URI, START_DATE, default_args


@dag(
    dag_id="weir_quality_sweep",
    schedule=[Asset(COMPACTED_ASSET_URI)],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=1),
    doc_md=__doc__,
    tags=["weir", "batch", "quality"],
)
def weir_quality_sweep() -> None:
    @task
    def sweep() -> dict[str, Any]:
        try:
            return commands.sweep()
        except commands.SweepFailed as exc:  # a broken rule is a verdict, not a flake: no retry
            raise AirflowFailException(str(exc)) from exc

    sweep()


weir_quality_sweep()
