"""What `weir compact` would do, as pure logic: which dates are closed, which partitions are worth compacting,
the partition predicates handed to OPTIMIZE, and the report (`CompactReport`: text for a person, CONTRACT.md's
`--json`). No Spark here; `batch.compact` reads the Delta log and runs the plan.

A partition is *closed* when its date is before yesterday (UTC): the stream writes today's partitions, and
yesterday's too for events late around midnight. A closed partition is a *candidate* when OPTIMIZE's bin packing
(`bins`, the same as Delta's) would merge at least `min_files` of its files: Delta considers the files smaller
than the target, sorted by size, packs them in order into bins of at most the target, and rewrites every bin of
two files or more. So a partition compacted once, or one whose files are already near the target, is not a
candidate, and a second run finds nothing.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from batch.exceptions import BadRangeError

MB = 1024 * 1024


def closed_before(today: dt.date) -> dt.date:
    """The first open date: partitions dated before it are closed."""
    return today - dt.timedelta(days=1)


def window(
    date_from: dt.date | None, date_to: dt.date | None, today: dt.date
) -> tuple[dt.date | None, dt.date, list[str]]:
    """The dates to compact, `(first or None, last)` inclusive, and notes for the report (a range reaching into
    open dates stops at the last closed one)."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadRangeError(f"--from {date_from} is after --to {date_to}")
    last_closed = closed_before(today) - dt.timedelta(days=1)
    notes: list[str] = []
    hi = last_closed
    if date_to is not None and date_to <= last_closed:
        hi = date_to
    elif date_to is not None:
        notes.append(
            f"--to {date_to} reaches into open dates: stopped at {last_closed}, the last closed date "
            f"(the stream still writes {closed_before(today)} and later)"
        )
    if date_from is not None and date_from > last_closed:
        notes.append(f"--from {date_from} is not closed yet: nothing to compact before {closed_before(today)} closes")
    return date_from, hi, notes


def bins(sizes: Sequence[int], target: int) -> list[list[int]]:
    """Delta's bin packing for OPTIMIZE (OptimizeExecutor.groupFilesIntoBins), as sizes: the files smaller than
    the target, smallest first, packed in order into bins of at most `target` bytes; only bins of two files or
    more are rewritten (each into one file), the others are left alone."""
    out: list[list[int]] = []
    current: list[int] = []
    total = 0
    for size in sorted(s for s in sizes if s < target):
        if current and total + size > target:
            out.append(current)
            current, total = [], 0
        current.append(size)
        total += size
    if current:
        out.append(current)
    return [b for b in out if len(b) > 1]


def partition_name(columns: Sequence[str], values: Mapping[str, str | None]) -> str:
    """`event_date=2026-01-02/event_type=x`, as the partition's directory is named."""
    return "/".join(f"{c}={'__HIVE_DEFAULT_PARTITION__' if values[c] is None else values[c]}" for c in columns)


@dataclass(frozen=True)
class Candidate:
    """A closed partition OPTIMIZE will rewrite: its values, its files and bytes, and what packing predicts."""

    values: tuple[tuple[str, str | None], ...]
    date: dt.date
    files: int
    bytes: int
    merged_files: int  # files that go into bins of two or more
    bins: int  # the files those become

    @property
    def name(self) -> str:
        return partition_name([c for c, _ in self.values], dict(self.values))

    @property
    def files_after(self) -> int:
        return self.files - self.merged_files + self.bins

    def as_json(self) -> dict[str, object]:
        return {"partition": self.name, "date": self.date.isoformat(), "files": self.files, "bytes": self.bytes}


def candidate(
    values: Mapping[str, str | None], day: dt.date, sizes: Sequence[int], *, target: int, min_files: int
) -> Candidate | None:
    """The partition as a candidate, or None when packing would merge fewer than `min_files` of its files."""
    packed = bins(sizes, target)
    merged = sum(len(b) for b in packed)
    if merged < min_files:
        return None
    return Candidate(tuple(values.items()), day, len(sizes), sum(sizes), merged, len(packed))


def sql_literal(value: str | None, *, is_date: bool) -> str:
    if value is None:
        return "NULL"
    quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return f"DATE{quoted}" if is_date else quoted


def predicate(candidates: Sequence[Candidate], date_columns: frozenset[str]) -> str:
    """One OPTIMIZE `where` over these partitions (partition columns only): `c IN (...)` for one column,
    an OR of conjunctions for several."""
    if not candidates:
        raise ValueError("a predicate needs at least one partition")
    columns = [c for c, _ in candidates[0].values]

    def test(column: str, value: str | None) -> str:
        if value is None:
            return f"`{column}` IS NULL"
        return f"`{column}` = {sql_literal(value, is_date=column in date_columns)}"

    if len(columns) == 1 and all(v is not None for c in candidates for _, v in c.values):
        [column] = columns
        values = ", ".join(sql_literal(v, is_date=column in date_columns) for c in candidates for _, v in c.values)
        return f"`{column}` IN ({values})"
    return " OR ".join("(" + " AND ".join(test(col, v) for col, v in c.values) + ")" for c in candidates)


def groups(candidates: Sequence[Candidate], size: int) -> list[list[Candidate]]:
    """The candidates in OPTIMIZE calls of at most `size` partitions each."""
    return [list(candidates[i : i + size]) for i in range(0, len(candidates), size)]


@dataclass
class TableResult:
    """One table's compaction (or, in a dry run, its plan)."""

    table: str
    candidates: list[Candidate] = field(default_factory=list)
    files_after: int = 0
    bytes_after: int = 0
    seconds: float = 0.0
    vacuumed_files: int | None = None
    note: str | None = None
    files_removed: int = 0  # OPTIMIZE's own metrics (a dry run: 0)
    files_added: int = 0

    @property
    def partitions(self) -> int:
        return len(self.candidates)

    @property
    def files_before(self) -> int:
        return sum(c.files for c in self.candidates)

    @property
    def bytes_before(self) -> int:
        return sum(c.bytes for c in self.candidates)

    def as_json(self) -> dict[str, object]:
        return {
            "table": self.table,
            "partitions": self.partitions,
            "files_before": self.files_before,
            "files_after": self.files_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "seconds": round(self.seconds, 3),
            "candidates": [c.as_json() for c in self.candidates],
            "vacuumed_files": self.vacuumed_files,
            "files_removed": self.files_removed,
            "files_added": self.files_added,
        }


@dataclass
class CompactReport:
    """What `weir compact` did: per table, before and after; the closed boundary; notes (a clipped range, a
    missing table)."""

    tables: list[TableResult]
    dry_run: bool
    closed_before: dt.date
    min_files: int
    target_mb: int
    vacuum: bool = False
    retention_hours: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0

    @property
    def nothing_to_compact(self) -> bool:
        return not any(t.candidates for t in self.tables)

    def as_json(self) -> dict[str, object]:
        return {
            "tables": [t.as_json() for t in self.tables],
            "dry_run": self.dry_run,
            "closed_before": self.closed_before.isoformat(),
            "nothing_to_compact": self.nothing_to_compact,
            "target_file_mb": self.target_mb,
            "min_files": self.min_files,
            "vacuum": self.vacuum,
            "retention_hours": self.retention_hours,
            "notes": self.notes,
        }

    def summary(self) -> str:
        if self.nothing_to_compact:
            return (
                f"nothing to compact: every closed partition (before {self.closed_before}) has fewer than "
                f"{self.min_files} files to merge below the {self.target_mb} MB target"
            )
        busy = [t for t in self.tables if t.candidates]
        parts = sum(t.partitions for t in busy)
        size = sum(t.bytes_before for t in busy) / MB
        seconds = sum(t.seconds for t in self.tables)
        where = f"in {parts:,} partitions of {len(busy)} table{'s' if len(busy) != 1 else ''}"
        if self.dry_run:
            into = sum(c.files_after for t in busy for c in t.candidates)
            files = sum(t.files_before for t in busy)
            return f"dry run: would compact {files:,} files into {into:,} {where}, {size:,.1f} MB; nothing changed"
        removed = sum(t.files_removed for t in busy)
        added = sum(t.files_added for t in busy)
        return f"compacted {removed:,} files into {added:,} {where}, {size:,.1f} MB, {seconds:,.1f} s"

    def text(self) -> str:
        head = ("table", "partitions", "files before -> after", "MB before -> after", "seconds")
        rows = [head]
        for t in self.tables:
            rows.append(
                (
                    t.table,
                    f"{t.partitions:,}",
                    f"{t.files_before:,} -> {t.files_after:,}",
                    f"{t.bytes_before / MB:,.1f} -> {t.bytes_after / MB:,.1f}",
                    f"{t.seconds:.1f}",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in rows
        ]
        if self.vacuum:
            counts = ", ".join(f"{t.table} {t.vacuumed_files:,}" for t in self.tables if t.vacuumed_files is not None)
            verb = "would delete" if self.dry_run else "deleted"
            lines.append(f"vacuum (retention {self.retention_hours:g} h) {verb} files: {counts or 'none'}")
        lines.extend(f"note: {n}" for n in self.notes)
        lines.extend(f"note: {t.table}: {t.note}" for t in self.tables if t.note)
        lines.append(self.summary())
        return "\n".join(lines)


def _align(row: Sequence[str], widths: Sequence[int]) -> list[str]:
    """The first cell left-aligned, the figures right-aligned."""
    return [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
