# mypy: disable-error-code="import-not-found,untyped-decorator"
# (Airflow lives in its own venv, .venv-airflow, not in the one mypy checks the packages with.)
"""
### weir_compaction: nightly compaction of closed partitions

Every night at 02:00 UTC:

0. `dedupe` runs `weir dedupe --json`: copies of an event that reached silver or quarantine after the stream's
   deduplication window are removed, the first received kept (docs/architecture.md, "Deduplication").
1. `list_candidates` runs `weir compact --dry-run --json` and lists each (table, `event_date`) that has closed
   partitions worth compacting (bronze, silver, quarantine; never the partitions the stream is still writing).
2. `compact` is mapped over those pairs (dynamic task mapping): each runs
   `weir compact --table T --from D --to D --json`, one Spark job per pair, retried on its own.
3. `publish` sums the reports per table and updates the Asset `weir://lake/compacted` once per run, which
   schedules `weir_quality_sweep`.

Compaction is idempotent: a re-run or a retry compacts nothing twice. To compact now: trigger the DAG
(UI: ▶, or `airflow dags trigger weir_compaction`). There is nothing to backfill: each run looks at every
closed partition. See docs/orchestration.md.
"""

from typing import Any

from airflow.sdk import Asset, dag, task

from orchestration import commands
from orchestration.defaults import COMPACTED_ASSET_URI, OWNER, START_DATE, default_args

COMPACTED = Asset(COMPACTED_ASSET_URI)


@dag(
    dag_id="weir_compaction",
    schedule="0 2 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2),
    doc_md=__doc__,
    tags=["weir", "batch", "compaction"],
    owner_links={OWNER: "https://github.com/weir/weir/blob/main/docs/orchestration.md"},
)
def weir_compaction() -> None:
    @task
    def dedupe() -> dict[str, Any]:
        report = commands.run_json(commands.dedupe_argv())
        print(f"ids held more than once: {report.get('duplicated_ids')}; removed: {report.get('removed')}")
        return report

    @task
    def list_candidates() -> list[dict[str, str]]:
        pairs = commands.compaction_tasks(commands.run_json(commands.compact_dry_run_argv()))
        print(f"{len(pairs)} compactions to run: {pairs}")
        return pairs

    # One compaction at a time per run: two OPTIMIZEs of the same table can conflict, and each is a Spark job.
    @task(max_active_tis_per_dagrun=1)
    def compact(pair: dict[str, str]) -> dict[str, Any]:
        return commands.run_json(commands.compact_argv(pair["table"], pair["date_from"], pair["date_to"]))

    # Not mapped, so the asset gets one event per run; `none_failed` so a night with nothing to compact
    # (an empty expansion is skipped) still says the lake is compacted.
    @task(outlets=[COMPACTED], trigger_rule="none_failed")
    def publish(results: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        summary = commands.compaction_summary(results or [])
        for row in summary["tables"]:
            print(
                f"{row['table']:<18} partitions {row['partitions']:>5}  files {row['files_before']} -> "
                f"{row['files_after']}  bytes {row['bytes_before']} -> {row['bytes_after']}"
            )
        return summary

    candidates = list_candidates()
    dedupe() >> candidates  # deletes first, so that compaction packs what remains
    publish(compact.expand(pair=candidates))


weir_compaction()
