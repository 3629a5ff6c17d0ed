"""How a DAG task calls a batch job: by its entry point, the `weir` CLI (never by import). This module owns the
argv of each call, running it (`subprocess`, the `WEIR_*` environment passed through so that the job sees the
same lake), parsing its `--json` stdout, and turning a failure into an exception that carries the exit code, the
report (when there was one) and the tail of stderr. Pure Python, no Airflow: the DAG files are thin wrappers."""

import datetime as dt
import json
import logging
import os
import shlex
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

WEIR_CLI_ENV = "WEIR_CLI"
STDERR_TAIL_LINES = 40
# Airflow refuses to expand a task over more than `[core] max_map_length` (1024) items; stay well under it.
MAX_COMPACTION_TASKS = 256

Report = dict[str, Any]


class WeirCommandFailed(RuntimeError):
    """A `weir` command exited non-zero (or printed no JSON object): its argv, exit code, report and stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, report: Report | None, why: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = tail(stderr)
        self.report = report
        super().__init__(f"`{shlex.join(self.argv)}` {why}\n--- stderr (last lines) ---\n{self.stderr_tail}")


class SweepFailed(WeirCommandFailed):
    """`weir sweep` exited 1: a `fail` rule broke (the message names each failing rule and the mismatches)."""


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def weir_cli(env: Mapping[str, str] | None = None) -> list[str]:
    """The CLI's argv prefix: `WEIR_CLI` (split like a shell would: `/path/python -m weir` works), else `weir`."""
    raw = (env if env is not None else os.environ).get(WEIR_CLI_ENV, "").strip()
    return shlex.split(raw) if raw else ["weir"]


def _day(value: dt.date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def dedupe_argv(env: Mapping[str, str] | None = None) -> list[str]:
    return [*weir_cli(env), "dedupe", "--json"]


def compact_dry_run_argv(env: Mapping[str, str] | None = None) -> list[str]:
    return [*weir_cli(env), "compact", "--dry-run", "--json"]


def compact_argv(
    table: str, date_from: dt.date | str, date_to: dt.date | str | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    lo = _day(date_from)
    hi = _day(date_to) if date_to is not None else lo
    return [*weir_cli(env), "compact", "--table", table, "--from", lo, "--to", hi, "--json"]


def backfill_argv(date_from: dt.date | str, date_to: dt.date | str, env: Mapping[str, str] | None = None) -> list[str]:
    return [*weir_cli(env), "backfill", "--from", _day(date_from), "--to", _day(date_to), "--json"]


def sweep_argv(env: Mapping[str, str] | None = None) -> list[str]:
    return [*weir_cli(env), "sweep", "--json"]


@dataclass(frozen=True)
class Completed:
    """What a finished command left: exit code, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str = field(repr=False)


Runner = Callable[[Sequence[str], Mapping[str, str], float | None], Completed]


def subprocess_runner(argv: Sequence[str], env: Mapping[str, str], timeout_s: float | None) -> Completed:
    """Run argv to completion; stderr is also echoed to this process's log (the Airflow task log)."""
    done = subprocess.run(list(argv), capture_output=True, text=True, env=dict(env), timeout=timeout_s, check=False)
    if done.stderr.strip():
        log.info("stderr of %s:\n%s", argv[0], tail(done.stderr, 200))
    return Completed(done.returncode, done.stdout, done.stderr)


def parse_report(stdout: str) -> Report | None:
    """The one JSON object a `--json` command prints on stdout, or None when there is none."""
    text = stdout.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        # Tolerate noise before the object (it should not be there: CONTRACT.md): take the last line that parses.
        for line in reversed(text.splitlines()):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            break
        else:
            return None
    return value if isinstance(value, dict) else None


def run_json(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    runner: Runner = subprocess_runner,
    ok_codes: Iterable[int] = (0,),
) -> Report:
    """Run a `weir ... --json` command and return its report; raise `WeirCommandFailed` on another exit code or
    when stdout holds no JSON object."""
    log.info("running %s", shlex.join(argv))
    done = runner(argv, env if env is not None else dict(os.environ), timeout_s)
    report = parse_report(done.stdout)
    if done.returncode not in set(ok_codes):
        raise WeirCommandFailed(argv, done.returncode, done.stderr, report, f"exited {done.returncode}")
    if report is None:
        raise WeirCommandFailed(argv, done.returncode, done.stderr, None, "printed no JSON object on stdout")
    return report


@dataclass(frozen=True, order=True)
class CompactionTask:
    """One mapped compaction: a table and a date range (one day unless there were too many candidates)."""

    table: str
    date_from: str
    date_to: str

    def as_dict(self) -> dict[str, str]:
        return {"table": self.table, "date_from": self.date_from, "date_to": self.date_to}


def compaction_tasks(dry_run: Report, max_tasks: int = MAX_COMPACTION_TASKS) -> list[dict[str, str]]:
    """The (table, date) pairs a dry run listed, sorted, one per day; when there are more than `max_tasks`, each
    table's days are grouped into consecutive chunks (a range compacts the candidate days in it; compacting is
    idempotent, so a day in between without candidates costs only a look)."""
    days: dict[str, set[str]] = {}
    for table in dry_run.get("tables", []):
        for candidate in table.get("candidates", []):
            date = candidate.get("date")
            if date:
                days.setdefault(str(table["table"]), set()).add(str(date))
    total = sum(len(d) for d in days.values())
    tasks: list[CompactionTask] = []
    if total <= max_tasks:
        tasks = [CompactionTask(t, d, d) for t, ds in days.items() for d in ds]
    else:
        per_table = max(1, max_tasks // max(1, len(days)))
        for table, ds in days.items():
            ordered = sorted(ds)
            size = -(-len(ordered) // per_table)  # ceiling division
            for i in range(0, len(ordered), size):
                chunk = ordered[i : i + size]
                tasks.append(CompactionTask(table, chunk[0], chunk[-1]))
    return [t.as_dict() for t in sorted(tasks)]


def compaction_summary(results: Iterable[Report | None]) -> dict[str, Any]:
    """Sum the mapped compactions' reports per table: partitions, files and bytes before and after."""
    keys = ("partitions", "files_before", "files_after", "bytes_before", "bytes_after")
    tables: dict[str, dict[str, int]] = {}
    runs = 0
    for report in results:
        if not report:
            continue
        runs += 1
        for row in report.get("tables", []):
            acc = tables.setdefault(str(row["table"]), dict.fromkeys(keys, 0))
            for key in keys:
                acc[key] += int(row.get(key) or 0)
    return {"compactions": runs, "tables": [{"table": t, **v} for t, v in sorted(tables.items())]}


def interval_days(start: dt.datetime, end: dt.datetime) -> tuple[str, str]:
    """The `event_date`s a data interval [start, end) covers, as `--from`/`--to` (inclusive): a daily run's own
    day. Both are taken in UTC (event_date is the UTC date of occurred_at)."""
    lo = start.astimezone(dt.UTC) if start.tzinfo else start
    hi = end.astimezone(dt.UTC) if end.tzinfo else end
    if hi <= lo:
        raise ValueError(f"empty data interval [{start}, {end}): the DAG needs a data-interval timetable")
    first = lo.date()
    last = (hi - dt.timedelta(microseconds=1)).date()
    return first.isoformat(), last.isoformat()


def failing_rules(report: Report) -> list[str]:
    """A sweep report's broken rules of severity `fail`, and its reconciliation mismatches, one line each."""
    lines = [
        f"{r.get('table')} {r.get('event_type') or '*'} {r.get('rule')}: observed {r.get('observed')}, "
        f"threshold {r.get('threshold')}"
        for r in report.get("results", [])
        if not r.get("passed") and r.get("severity") == "fail"
    ]
    for m in (report.get("reconciliation") or {}).get("mismatches", []):
        lines.append(
            f"reconciliation {m.get('hour')}: bronze {m.get('bronze')} != silver {m.get('silver')} "
            f"+ quarantine {m.get('quarantine')}"
        )
    return lines


def sweep(
    *, env: Mapping[str, str] | None = None, timeout_s: float | None = None, runner: Runner = subprocess_runner
) -> Report:
    """`weir sweep --json`; exit 1 (a `fail` rule broke) raises `SweepFailed` naming the failing rules."""
    argv = sweep_argv(env)
    try:
        report = run_json(argv, env=env, timeout_s=timeout_s, runner=runner)
    except WeirCommandFailed as exc:
        if exc.returncode == 1 and exc.report is not None:
            broken = failing_rules(exc.report) or ["(the report names no failing rule)"]
            raise SweepFailed(
                argv, exc.returncode, exc.stderr_tail, exc.report, "found broken fail rules:\n  " + "\n  ".join(broken)
            ) from None
        raise
    results = report.get("results", [])
    log.info(
        "sweep: %d rule results, %d failed; reconciliation checked %s hours",
        len(results),
        sum(1 for r in results if not r.get("passed")),
        (report.get("reconciliation") or {}).get("hours_checked"),
    )
    return report
