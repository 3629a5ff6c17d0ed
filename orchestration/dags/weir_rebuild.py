# mypy: disable-error-code="import-not-found,untyped-decorator"
# (Airflow lives in its own venv, .venv-airflow, not in the one mypy checks the packages with.)
"""
### weir_rebuild: rebuild one day of silver and quarantine from bronze

Daily, on a data-interval timetable (`CronDataIntervalTimetable("0 0 * * *", UTC)`): the run for the interval
[D 00:00, D+1 00:00) runs `weir backfill --from D --to D --json`, which re-evaluates that `event_date`'s bronze
events with today's contracts and rewrites its silver and quarantine partitions atomically (failures are
published with `stage: backfill`). Catchup is off: unpausing does not replay the past.

**Rebuild a date range** (after a contract change) with an Airflow backfill, one run per day:

    airflow backfill create --dag-id weir_rebuild --from-date 2026-11-01 --to-date 2026-11-03 \
        --max-active-runs 1 --reprocess-behavior completed

or in the UI: the DAG's page, ▶ (Trigger) → *Backfill*, pick the range and *Run*. Only those days are rewritten.
See docs/orchestration.md.
"""

from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from orchestration import commands
from orchestration.defaults import START_DATE, default_args


@dag(
    dag_id="weir_rebuild",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2),
    doc_md=__doc__,
    tags=["weir", "batch", "backfill"],
)
def weir_rebuild() -> None:
    @task
    def rebuild() -> dict[str, Any]:
        context = get_current_context()
        start, end = context["data_interval_start"], context["data_interval_end"]
        if start is None or end is None:
            raise ValueError("this run has no data interval: weir_rebuild needs a data-interval timetable")
        date_from, date_to = commands.interval_days(start, end)
        print(f"rebuilding event_date {date_from}..{date_to} (interval {start} .. {end})")
        return commands.run_json(commands.backfill_argv(date_from, date_to))

    rebuild()


weir_rebuild()
