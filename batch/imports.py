"""`weir import`: historical NDJSON, CSV and Parquet files brought through the gateway's envelope checks and the
contracts into bronze, silver and quarantine, exactly once (docs/batch/import.md).

Every file is read and checked first, whole (`batch.import_files`): one malformed file and nothing of any file
is written. Then each file is written in turn (`batch.import_write`): bronze, the failure topic (`stage:
backfill`), quarantine, silver. Importing a file again writes nothing: Delta skips its bronze append (keyed by
the SHA-256 of its bytes) and its events are already in silver or quarantine. A run stopped half way is finished
by running it again.
"""

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from batch.import_files import StagedFile, stage_all
from batch.import_write import Target, Written, topic, write_files
from batch.progress import Progress
from batch.settings import BatchSettings
from lake.schemas import table_schemas
from lake.tables import BRONZE, QUARANTINE, SILVER, ensure_tables
from observability.batch import JobMetrics
from quality import CompiledContract, load_contracts

DEFAULT_TENANT = "import"
EMPTY = Written(0, 0, 0, 0, False, 0)


@dataclass(frozen=True)
class FileResult:
    path: str
    format: str
    rows: int
    written: Written

    def as_json(self) -> dict[str, object]:
        w = self.written
        return {
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "bronze": w.bronze,
            "silver": w.silver,
            "quarantine": w.quarantine,
            "failures_published": w.failures,
            "skipped_already_imported": w.already_imported,
        }

    def text(self) -> str:
        w = self.written
        line = f"{self.path} ({self.format}): {self.rows:,} rows"
        if w.already_imported and not (w.silver or w.quarantine):
            return f"{line}: already imported, nothing written"
        written = f"bronze {w.bronze:,}, silver {w.silver:,}, quarantine {w.quarantine:,}"
        line = f"{line} -> {written}, {w.failures:,} failures published"
        return f"{line} (bronze was already imported: this run finished the rest)" if w.already_imported else line


@dataclass
class ImportReport:
    """The `--json` object (CONTRACT.md: `rows_read`, `silver`, `quarantine`, `failures_published`) with one
    entry per file, and its text: one line per file and a summary line."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0

    def _sum(self, name: str) -> int:
        return sum(int(getattr(f.written, name)) for f in self.files)

    def as_json(self) -> dict[str, object]:
        return {
            "rows_read": sum(f.rows for f in self.files),
            "bronze": self._sum("bronze"),
            "silver": self._sum("silver"),
            "quarantine": self._sum("quarantine"),
            "failures_published": self._sum("failures"),
            "already_imported": sum(1 for f in self.files if f.written.already_imported),
            "conflict_retries": self._sum("retries"),
            "seconds": round(self.seconds, 3),
            "files": [f.as_json() for f in self.files],
        }

    def summary(self) -> str:
        j = self.as_json()
        return (
            f"{len(self.files)} file(s), {j['rows_read']:,} rows read: bronze {j['bronze']:,}, silver {j['silver']:,},"
            f" quarantine {j['quarantine']:,}, {j['failures_published']:,} failures published"
            f" ({j['already_imported']} already imported)"
        )

    def text(self) -> str:
        return "\n".join([*(f.text() for f in self.files), f"imported {self.summary()} in {self.seconds:.1f} s"])


def _count(metrics: JobMetrics, staged: StagedFile, written: Written) -> None:
    metrics.rows.labels("files", "read").inc(staged.rows)
    metrics.rows.labels(BRONZE, "imported").inc(written.bronze)
    metrics.rows.labels(SILVER, "imported").inc(written.silver)
    metrics.rows.labels(QUARANTINE, "imported").inc(written.quarantine)
    metrics.rows.labels("failures", "failure_published").inc(written.failures)


def _waves(staged: list[StagedFile]) -> list[list[StagedFile]]:
    """The files in groups written together, in order: a group holds no two files of the same name (a file's
    name is its records' topic, which tells its rows apart)."""
    waves: list[list[StagedFile]] = []
    for one in staged:
        if not waves or topic(one) in {topic(f) for f in waves[-1]}:
            waves.append([])
        waves[-1].append(one)
    return waves


def check(paths: list[str], fmt: str | None, tenant: str | None, into: Path) -> tuple[list[StagedFile], datetime]:
    """Check and stage every file (no Spark: a malformed file is refused before a session starts); what `run`
    then writes. `ImportFileError` names each refused file and line."""
    imported_at = datetime.now(UTC)
    staged = stage_all(
        [Path(p) for p in paths], fmt, tenant=tenant or DEFAULT_TENANT, imported_at=imported_at, into=into
    )
    return staged, imported_at


def run(
    spark: SparkSession,
    settings: BatchSettings,
    metrics: JobMetrics,
    *,
    paths: list[str],
    fmt: str | None,
    tenant: str | None,
    checked: tuple[list[StagedFile], datetime] | None = None,
) -> ImportReport:
    """Import `paths` (module docstring). `fmt` None: each file's format from its suffix. `tenant`: the tenant
    stamped on every event (default `import`). `checked`: what `check` staged already (the CLI checks first)."""
    contracts = load_contracts(settings.contracts)
    with tempfile.TemporaryDirectory(prefix="weir-import-") as staging:
        staged, imported_at = checked or check(paths, fmt, tenant, Path(staging))
        return _write(spark, settings, metrics, contracts, staged, imported_at)


def _write(
    spark: SparkSession,
    settings: BatchSettings,
    metrics: JobMetrics,
    contracts: Mapping[str, CompiledContract],
    staged: list[StagedFile],
    imported_at: datetime,
) -> ImportReport:
    report = ImportReport()
    ensure_tables(spark, settings.lake, table_schemas(spark))
    target = Target(
        settings.lake, dict(contracts), settings.kafka_bootstrap, settings.failures_topic, settings.conflict_retries
    )
    with Progress("import", total=len(staged), unit="files") as progress:
        for wave in _waves(staged):
            nonempty = [f for f in wave if f.rows]
            written = write_files(spark, nonempty, imported_at, target) if nonempty else {}
            for one in wave:
                result = written[topic(one)] if one.rows else EMPTY
                _count(metrics, one, result)
                report.files.append(FileResult(str(one.path), one.format, one.rows, result))
                progress.advance(rows=one.rows, what=one.path.name)
        report.seconds = progress.elapsed
        progress.summary(report.summary())
    return report
