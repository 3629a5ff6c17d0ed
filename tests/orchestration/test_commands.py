"""orchestration.commands: argv, JSON parsing, failures, compaction mapping and interval days (pure, no Airflow)."""

import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence

import pytest

from orchestration import commands
from orchestration.commands import Completed, SweepFailed, WeirCommandFailed


def fake(returncode: int, stdout: str = "", stderr: str = "") -> commands.Runner:
    def run(argv: Sequence[str], env: Mapping[str, str], timeout_s: float | None) -> Completed:
        return Completed(returncode, stdout, stderr)

    return run


def test_cli_comes_from_weir_cli_split_like_a_shell() -> None:
    assert commands.weir_cli({}) == ["weir"]
    assert commands.weir_cli({"WEIR_CLI": "  "}) == ["weir"]
    quoted = "'/opt/my venv/bin/python' -m weir"
    assert commands.weir_cli({"WEIR_CLI": quoted}) == ["/opt/my venv/bin/python", "-m", "weir"]


def test_argv_of_each_job() -> None:
    env = {"WEIR_CLI": "/x/weir"}
    assert commands.compact_dry_run_argv(env) == ["/x/weir", "compact", "--dry-run", "--json"]
    assert commands.compact_argv("silver/events", dt.date(2026, 11, 3), env=env) == [
        "/x/weir", "compact", "--table", "silver/events", "--from", "2026-11-03", "--to", "2026-11-03", "--json",
    ]  # fmt: skip
    assert commands.backfill_argv("2026-11-01", dt.date(2026, 11, 2), env) == [
        "/x/weir", "backfill", "--from", "2026-11-01", "--to", "2026-11-02", "--json",
    ]  # fmt: skip
    assert commands.sweep_argv(env) == ["/x/weir", "sweep", "--json"]


def test_run_json_returns_the_report() -> None:
    assert commands.run_json(["weir"], env={}, runner=fake(0, '{"rows_read": 3}\n')) == {"rows_read": 3}


def test_run_json_skips_noise_before_the_object() -> None:
    assert commands.run_json(["weir"], env={}, runner=fake(0, 'hello\n{"a": 1}\n')) == {"a": 1}


def test_non_zero_exit_raises_with_code_report_and_stderr_tail() -> None:
    stderr = "\n".join(f"line {i}" for i in range(100)) + "\nSparkException: boom\n"
    with pytest.raises(WeirCommandFailed) as info:
        commands.run_json(["weir", "backfill"], env={}, runner=fake(2, '{"partial": true}', stderr))
    exc = info.value
    assert exc.returncode == 2
    assert exc.report == {"partial": True}
    assert exc.stderr_tail.splitlines()[-1] == "SparkException: boom"
    assert len(exc.stderr_tail.splitlines()) == commands.STDERR_TAIL_LINES
    assert "line 0\n" not in str(exc)
    assert "`weir backfill` exited 2" in str(exc)


@pytest.mark.parametrize("stdout", ["", "not json", "[1, 2]"])
def test_zero_exit_without_a_json_object_raises(stdout: str) -> None:
    with pytest.raises(WeirCommandFailed, match="printed no JSON object"):
        commands.run_json(["weir"], env={}, runner=fake(0, stdout))


def test_the_real_subprocess_runner_passes_env_and_captures_both_streams() -> None:
    code = "import os, sys; print('oops', file=sys.stderr); print('{\"v\": \"' + os.environ['WEIR_X'] + '\"}')"
    assert commands.run_json([sys.executable, "-c", code], env={"WEIR_X": "lake"}) == {"v": "lake"}
    with pytest.raises(WeirCommandFailed) as info:
        commands.run_json([sys.executable, "-c", "import sys; sys.exit('it broke')"], env={})
    assert info.value.returncode == 1
    assert "it broke" in info.value.stderr_tail


DRY_RUN = {
    "tables": [
        {
            "table": "silver/events",
            "partitions": 3,
            "candidates": [
                {"partition": "event_date=2026-11-02/event_type=a", "date": "2026-11-02", "files": 5, "bytes": 10},
                {"partition": "event_date=2026-11-02/event_type=b", "date": "2026-11-02", "files": 3, "bytes": 10},
                {"partition": "event_date=2026-11-01/event_type=a", "date": "2026-11-01", "files": 4, "bytes": 10},
            ],
        },
        {"table": "bronze/events", "candidates": [{"partition": "ingest_date=2026-11-03", "date": "2026-11-03"}]},
        {"table": "quarantine/events", "candidates": []},
    ]
}


def test_compaction_tasks_are_one_per_table_and_day() -> None:
    assert commands.compaction_tasks(DRY_RUN) == [
        {"table": "bronze/events", "date_from": "2026-11-03", "date_to": "2026-11-03"},
        {"table": "silver/events", "date_from": "2026-11-01", "date_to": "2026-11-01"},
        {"table": "silver/events", "date_from": "2026-11-02", "date_to": "2026-11-02"},
    ]
    assert commands.compaction_tasks({"tables": []}) == []


def test_too_many_candidates_are_grouped_into_ranges_covering_every_day() -> None:
    days = [(dt.date(2025, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(400)]
    report = {"tables": [{"table": t, "candidates": [{"date": d} for d in days]} for t in ("a", "b", "c")]}
    tasks = commands.compaction_tasks(report, max_tasks=30)
    assert 3 < len(tasks) <= 30
    for table in "abc":
        ranges = [(t["date_from"], t["date_to"]) for t in tasks if t["table"] == table]
        covered = {d for d in days if any(lo <= d <= hi for lo, hi in ranges)}
        assert covered == set(days)
        assert all(lo <= hi for lo, hi in ranges)


def test_compaction_summary_sums_per_table() -> None:
    one = {"tables": [{"table": "silver/events", "partitions": 1, "files_before": 5, "files_after": 1,
                       "bytes_before": 100, "bytes_after": 90}]}  # fmt: skip
    summary = commands.compaction_summary([one, one, None])
    assert summary["compactions"] == 2
    assert summary["tables"] == [
        {"table": "silver/events", "partitions": 2, "files_before": 10, "files_after": 2,
         "bytes_before": 200, "bytes_after": 180}
    ]  # fmt: skip


def test_interval_days_is_the_runs_own_day_in_utc() -> None:
    utc = dt.UTC
    assert commands.interval_days(dt.datetime(2026, 11, 3, tzinfo=utc), dt.datetime(2026, 11, 4, tzinfo=utc)) == (
        "2026-11-03",
        "2026-11-03",
    )
    paris = dt.timezone(dt.timedelta(hours=1))
    start = dt.datetime(2026, 11, 3, 1, tzinfo=paris)  # = 00:00 UTC
    assert commands.interval_days(start, start + dt.timedelta(days=3)) == ("2026-11-03", "2026-11-05")
    with pytest.raises(ValueError, match="data-interval timetable"):
        commands.interval_days(start, start)


SWEEP_FAILED = {
    "results": [
        {"table": "silver/events", "event_type": "shop.order", "rule": "unique-id", "passed": False,
         "observed": 3, "threshold": 0, "severity": "fail"},
        {"table": "silver/events", "event_type": "shop.order", "rule": "volume", "passed": False,
         "observed": 1, "threshold": 5, "severity": "warn"},
        {"table": "silver/events", "event_type": "shop.order", "rule": "fine", "passed": True,
         "observed": 0, "threshold": 0, "severity": "fail"},
    ],
    "reconciliation": {"hours_checked": 4, "mismatches": [
        {"hour": "2026-11-03T10:00:00Z", "bronze": 10, "silver": 7, "quarantine": 1}]},
}  # fmt: skip


def test_sweep_exit_1_names_the_failing_rules_and_mismatches() -> None:
    with pytest.raises(SweepFailed) as info:
        commands.sweep(env={}, runner=fake(1, json.dumps(SWEEP_FAILED), "1 fail rule broke"))
    message = str(info.value)
    assert "unique-id: observed 3, threshold 0" in message
    assert "reconciliation 2026-11-03T10:00:00Z: bronze 10 != silver 7 + quarantine 1" in message
    assert "volume" not in message  # a warn rule does not fail the task
    assert "fine" not in message


def test_sweep_other_failures_stay_plain_errors() -> None:
    with pytest.raises(WeirCommandFailed) as info:
        commands.sweep(env={}, runner=fake(1, "", "Traceback: no lake"))
    assert not isinstance(info.value, SweepFailed)
    passed = {"results": [], "reconciliation": {"hours_checked": 0, "mismatches": []}}
    assert commands.sweep(env={}, runner=fake(0, json.dumps(passed))) == passed
