"""`weir dedupe`: what makes silver and quarantine unique by id for good, after the stream's window.

The stream drops a copy of an event received within its deduplication window of the first copy
(`streaming.lanes`); a copy received later is inserted again. This job finds every id held more than once
across silver and quarantine (one aggregation over both tables' id columns: the read the stream no longer does per
batch, done once a night), keeps the first copy received (earliest `received_at`, then quarantine before silver,
then Kafka position: the copy the stream would have kept) and deletes the others, one MERGE per table over the
partitions that hold them. A copy is named by its id and its (`event_date`, `received_at`, `kafka_partition`,
`kafka_offset`); a row with the keeper's own identity is never deleted.

Beside the stream: a MERGE that lost to the stream's append into a partition it read is retried (it re-reads),
up to `settings.conflict_retries` times; `ConflictError` then. A second run finds nothing.
"""

from dataclasses import dataclass, field
from functools import partial

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from batch.progress import Progress
from batch.rebuild import table_exists, with_retries
from batch.settings import BatchSettings
from lake.tables import KEYS, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics

TABLES = (QUARANTINE, SILVER)  # quarantine first: on a tie, the quarantined copy is the one kept
IDENTITY = ("event_date", "received_at", "kafka_partition", "kafka_offset")


@dataclass
class DedupeReport:
    duplicated_ids: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    retries: int = 0

    @property
    def exit_code(self) -> int:
        return 0

    def as_json(self) -> dict[str, object]:
        return {
            "duplicated_ids": self.duplicated_ids,
            "removed": self.removed,
            "dry_run": self.dry_run,
            "retries": self.retries,
        }

    def text(self) -> str:
        if not self.duplicated_ids:
            return "dedupe: silver and quarantine hold every id once; nothing to remove"
        verb = "would remove" if self.dry_run else "removed"
        per_table = ", ".join(f"{n} from {t}" for t, n in self.removed.items())
        return f"dedupe: {self.duplicated_ids} ids held more than once; {verb} {per_table}"


def copies(spark: SparkSession, lake: str) -> DataFrame:
    """Every row of silver and quarantine as (`_id`, `_table`, `_rank`, identity columns)."""
    parts = []
    for rank, name in enumerate(TABLES):
        uri = table_uri(lake, name)
        if not table_exists(spark, uri):
            continue
        parts.append(
            spark.read.format("delta")
            .load(uri)
            .select(F.col(KEYS[name]).alias("_id"), F.lit(name).alias("_table"), F.lit(rank).alias("_rank"), *IDENTITY)
        )
    if not parts:
        return spark.createDataFrame([], "_id string, _table string, _rank int")
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def _order() -> list[Column]:
    return [
        F.col("received_at").asc_nulls_last(),
        F.col("_rank"),
        F.col("kafka_partition").asc_nulls_last(),
        F.col("kafka_offset").asc_nulls_last(),
    ]


def extra_copies(rows: DataFrame) -> DataFrame:
    """The copies to delete: of each id held more than once, every copy but the first (`_order`), unless it has the
    first's identity (two indistinguishable rows: deleting by identity would delete both)."""
    repeated = rows.groupBy("_id").count().where(F.col("count") > 1).select("_id")
    held = rows.join(repeated, "_id", "left_semi")
    ranked = held.withColumn("_n", F.row_number().over(Window.partitionBy("_id").orderBy(*_order())))
    keeper = ranked.where(F.col("_n") == 1).select("_id", *(F.col(c).alias(f"_k_{c}") for c in IDENTITY))
    same = F.lit(True)
    for c in IDENTITY:
        same = same & F.col(c).eqNullSafe(F.col(f"_k_{c}"))
    return ranked.where(F.col("_n") > 1).join(keeper, "_id").where(~same).select("_id", "_table", *IDENTITY)


def _delete(spark: SparkSession, uri: str, key: str, victims: DataFrame) -> None:
    from delta.tables import DeltaTable

    days = sorted({str(r["event_date"]) for r in victims.select("event_date").distinct().collect()})
    on = " AND ".join(
        [f"t.{key} = s._id", *(f"t.{c} <=> s.{c}" for c in IDENTITY), f"t.event_date IN ({_quoted(days)})"]
    )
    target = DeltaTable.forPath(spark, uri).alias("t")
    target.merge(victims.alias("s"), on).whenMatchedDelete().execute()


def _quoted(days: list[str]) -> str:
    return ", ".join(f"DATE'{d}'" for d in days) or "NULL"


def run(spark: SparkSession, settings: BatchSettings, metrics: JobMetrics, *, dry_run: bool = False) -> DedupeReport:
    report = DedupeReport(dry_run=dry_run)
    with Progress("dedupe", total=len(TABLES), unit="tables") as progress:
        victims = extra_copies(copies(spark, settings.lake)).persist()
        try:
            counts = {r["_table"]: int(r["count"]) for r in victims.groupBy("_table").count().collect()}
            report.duplicated_ids = victims.select("_id").distinct().count() if counts else 0
            report.removed = {name: counts.get(name, 0) for name in TABLES}
            for name in TABLES:
                if not dry_run and counts.get(name):
                    uri = table_uri(settings.lake, name)
                    mine = victims.where(F.col("_table") == name)
                    report.retries += with_retries(
                        partial(_delete, spark, uri, KEYS[name], mine),
                        settings.conflict_retries,
                        f"dedupe {name}",
                    )
                progress.advance(rows=counts.get(name, 0), what=name)
        finally:
            victims.unpersist()
        progress.summary(report.text().removeprefix("dedupe: "))
    for name, n in report.removed.items():
        metrics.rows.labels(name, "duplicate_removed").set(n)
    if dry_run and report.duplicated_ids:
        metrics.mark_dry_run()
    return report
