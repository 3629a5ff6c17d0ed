"""`weir backfill`: rebuild silver and quarantine for a range of `event_date`s from bronze with today's
contracts, one atomic MERGE per table per partition, beside the running stream (the machinery is
`batch.rebuild`; docs/batch/backfill.md says what it guarantees). Failing first copies are published with
`stage: backfill`. Also the report both `backfill` and `replay` return, and the checks of their input."""

import datetime as dt
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from batch.exceptions import BadRangeError
from batch.rebuild import Rebuilt, Scope, SourceHook, rebuild, table_exists
from batch.settings import BatchSettings
from lake.tables import BRONZE, SILVER, table_uri
from observability.batch import JobMetrics
from quality import load_contracts
from quality.contract import DEFAULT_EVENT_TYPE

COLUMNS = ("event_date", "silver", "quarantine", "->silver", "->quarantine", "not routed", "retries", "seconds")


@dataclass
class Report:
    """The result of a backfill or a replay: `as_json()` for `--json`, `text()` for a person."""

    job: str
    date_from: dt.date | None
    date_to: dt.date | None
    event_types: tuple[str, ...]
    done: Rebuilt = field(default_factory=Rebuilt)
    note: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    exit_code: int = 0

    def as_json(self) -> dict[str, object]:
        d = self.done
        out: dict[str, object] = {
            "job": self.job,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "event_types": list(self.event_types),
            "rows_read": d.rows_read,
            "bronze_scanned": d.bronze_scanned,
            "first_copies": d.first_copies,
            "silver": d.total("silver"),
            "quarantine": d.total("quarantine"),
            "moved_to_silver": d.total("moved_to_silver"),
            "moved_to_quarantine": d.total("moved_to_quarantine"),
            "not_yet_routed": d.total("not_yet_routed"),
            "failures_published": d.failures_published,
            "retries": d.total("retries"),
            "partitions": len(d.partitions),
            "dates": [p.as_json() for p in d.partitions],
            "seconds": round(d.seconds, 3),
            "note": self.note,
        }
        out.update(self.extra)
        return out

    def summary(self) -> str:
        d = self.done
        return (
            f"{len(d.partitions)} partitions, {d.rows_read:,} bronze rows read; silver {d.total('silver'):,} "
            f"({d.total('moved_to_silver'):,} moved in), quarantine {d.total('quarantine'):,} "
            f"({d.total('moved_to_quarantine'):,} moved in); {d.failures_published:,} messages published "
            f"(stage backfill); {d.total('retries')} conflict retries; {d.seconds:.1f} s"
        )

    def text(self) -> str:
        if self.note:
            return f"weir {self.job}: {self.note}"
        rows = [
            (
                p.event_date.isoformat(),
                *(f"{v:,}" for v in (p.silver, p.quarantine, p.moved_to_silver, p.moved_to_quarantine)),
                f"{p.not_yet_routed:,}",
                str(p.retries),
                f"{p.seconds:.1f}",
            )
            for p in self.done.partitions
        ]
        table = [COLUMNS, *rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
        lines = [
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in table
        ]
        return "\n".join([*lines, f"weir {self.job}: {self.summary()}"])


def check_range(date_from: dt.date | None, date_to: dt.date | None, *, today: dt.date | None = None) -> None:
    """A reversed range or a date after today (UTC) is refused."""
    now = today or dt.datetime.now(dt.UTC).date()
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadRangeError(f"--from {date_from} is after --to {date_to}")
    for flag, day in (("--from", date_from), ("--to", date_to)):
        if day is not None and day > now:
            raise BadRangeError(f"{flag} {day} is in the future (today is {now}, UTC)")


def check_event_types(spark: SparkSession, lake: str, contracts: Mapping[str, Any], wanted: Iterable[str]) -> None:
    """Each of `wanted` has a contract or rows in silver; else BadRangeError naming the types there are."""
    known = sorted(t for t in contracts if t != DEFAULT_EVENT_TYPE)
    missing = sorted(set(wanted) - set(known))
    if missing and table_exists(spark, table_uri(lake, SILVER)):
        silver = spark.read.format("delta").load(table_uri(lake, SILVER))
        found = {
            r[0] for r in silver.where(F.col("event_type").isin(*missing)).select("event_type").distinct().collect()
        }
        missing = [t for t in missing if t not in found]
    if missing:
        raise BadRangeError(
            f"unknown event type(s): {', '.join(missing)}; the contracts define: {', '.join(known) or 'none'}"
        )


def run(
    spark: SparkSession,
    settings: BatchSettings,
    metrics: JobMetrics,
    *,
    date_from: dt.date,
    date_to: dt.date,
    event_types: Iterable[str] | None,
    hook: SourceHook | None = None,
) -> Report:
    """Rebuild silver and quarantine for `event_date`s in [date_from, date_to] (of `event_types`, or all)."""
    started = time.monotonic()
    types = tuple(sorted(set(event_types or ())))
    check_range(date_from, date_to)
    report = Report("backfill", date_from, date_to, types)
    bronze = table_uri(settings.lake, BRONZE)
    if not table_exists(spark, bronze):
        report.note = f"nothing to backfill: there is no bronze table at {bronze}"
        return report
    check_event_types(spark, settings.lake, load_contracts(settings.contracts), types)
    report.done = rebuild(spark, settings, metrics, "backfill", Scope(date_from, date_to, types), hook=hook)
    if not report.done.partitions:
        report.note = f"nothing to backfill: no event in bronze has an event_date from {date_from} to {date_to}" + (
            f" of type {', '.join(types)}" if types else ""
        )
    report.done.seconds = time.monotonic() - started
    return report
