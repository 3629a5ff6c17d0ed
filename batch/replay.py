"""`weir replay`: quarantined events re-evaluated with today's contracts after a rule fix. The ids chosen (by a
rule they broke, their event type, their `event_date`) are rebuilt from their first copy in bronze with
`batch.rebuild`'s machinery restricted to them: those that pass now move to silver (an insert of ids read in
quarantine) and then leave quarantine; those still failing stay, with today's `failed_rules`. Every replayed
event's verdict is published with `stage: backfill` (an empty `failed_rules` for one that passes now). A
second run moves nothing."""

import datetime as dt
import time
from collections.abc import Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from batch.backfill import Report, check_event_types, check_range
from batch.rebuild import Scope, SourceHook, rebuild, table_exists
from batch.settings import BatchSettings
from lake.routing import to_failure_messages
from lake.tables import BRONZE, KEYS, QUARANTINE, table_uri
from lake.transforms import FAILED_RULES
from observability.batch import JobMetrics
from quality import load_contracts


def verdict_messages(firsts: DataFrame) -> DataFrame:
    """One failure-topic message per replayed first copy (`stage: backfill`): its `failed_rules` today, empty
    when it passes now."""
    return to_failure_messages(firsts, stage="backfill", every_event=True)


def quarantined(
    spark: SparkSession,
    uri: str,
    rules: tuple[str, ...],
    types: tuple[str, ...],
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> DataFrame:
    """The record ids (`record_id`) of quarantine's rows that match the filters (a rule among `rules` broken)."""
    q = spark.read.format("delta").load(uri)
    cond = F.lit(True)
    if date_from is not None:
        cond = cond & (F.col("event_date") >= F.lit(date_from))
    if date_to is not None:
        cond = cond & (F.col("event_date") <= F.lit(date_to))
    if types:
        cond = cond & F.col("event_type").isin(*types)
    if rules:
        cond = cond & F.arrays_overlap(F.col(f"{FAILED_RULES}.rule"), F.array(*(F.lit(r) for r in rules)))
    return q.where(cond).select(F.col(KEYS[QUARANTINE]).alias("record_id"))


def run(
    spark: SparkSession,
    settings: BatchSettings,
    metrics: JobMetrics,
    *,
    rules: Iterable[str] | None,
    event_types: Iterable[str] | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    hook: SourceHook | None = None,
) -> Report:
    """Replay the quarantined events that broke one of `rules` (any, when empty), of `event_types` (any), with an
    `event_date` in [date_from, date_to] (open ends when None)."""
    started = time.monotonic()
    rule_ids, types = tuple(sorted(set(rules or ()))), tuple(sorted(set(event_types or ())))
    check_range(date_from, date_to)
    report = Report("replay", date_from, date_to, types, extra={"rules": list(rule_ids)})
    uri, bronze = table_uri(settings.lake, QUARANTINE), table_uri(settings.lake, BRONZE)
    if not table_exists(spark, uri) or not table_exists(spark, bronze):
        report.note = f"nothing to replay: there is no quarantine or bronze table under {settings.lake}"
        return report
    check_event_types(spark, settings.lake, load_contracts(settings.contracts), types)
    ids = quarantined(spark, uri, rule_ids, types, date_from, date_to)
    scope = Scope(date_from, date_to, types, ids=ids)
    done = rebuild(spark, settings, metrics, "replay", scope, messages=verdict_messages, only_changed=True, hook=hook)
    report.done = done
    moved = done.total("moved_to_silver")
    report.extra.update({"replayed": done.first_copies, "still_quarantined": done.first_copies - moved})
    metrics.rows.labels(QUARANTINE, "replayed").inc(done.first_copies)
    if not done.partitions:
        report.note = "nothing to replay: no quarantined event matches " + ", ".join(
            [*(f"rule {r}" for r in rule_ids), *(f"type {t}" for t in types)] or ["the filters"]
        )
    done.seconds = time.monotonic() - started
    return report
