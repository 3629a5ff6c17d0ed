"""`weir sweep`: every dataset rule of every contract over silver, the reconciliation ledger, and the report.

Silver is read once: filtered by `event_date` and event type, each contract's dataset rules evaluated by the
engine (`quality.engines.spark.dataset.evaluate_dataset`: all of a contract's metrics in one aggregation) on its
event type's rows. When silver's layout partitions by `event_type` (lake.tables.PARTITIONS), each contract's
read touches only its own partitions, so the contracts together read each file once; otherwise the projected
rows (the columns the rules read) are persisted once and each contract aggregates its share of them.

Each result is appended to the metric history (`batch.history`), which `anomaly` reads back (the same rule's
past values); each checked hour of the reconciliation (`batch.reconcile`) to the ledger. Failing rules (any
severity) are published to the DQ-failure topic with `stage: sweep` and `event_id: null`; the exit code is 1
when a rule of severity `fail` broke."""

import datetime as dt
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException, Producer
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from batch.exceptions import BadRangeError
from batch.history import HistoryKey, MetricRow, anomaly_history, append_ledger, append_metrics
from batch.progress import Progress
from batch.reconcile import SETTLE, Reconciliation, reconcile
from batch.settings import BatchSettings
from ingest.producer import producer_config
from lake.tables import BRONZE, PARTITIONS, QUARANTINE, SILVER, table_uri
from observability.batch import JobMetrics
from quality import CompiledContract, CompiledRule, Severity, load_contracts
from quality.contract import DEFAULT_EVENT_TYPE
from quality.engines.spark.dataset import DatasetContext, DatasetResult, evaluate_dataset

ALL_TABLES = (BRONZE, SILVER, QUARANTINE)
EVENT_TYPE, EVENT_DATE = "event_type", "event_date"
PUBLISH_TIMEOUT_S = 15.0
# The metric each rule type observes, as the history names it (`anomaly`: its `metric` param).
METRICS = {
    "row_count_between": "row_count",
    "null_ratio_at_most": "null_ratio",
    "unique": "duplicates",
    "distinct_count_between": "distinct_count",
    "distinct_ratio_between": "distinct_ratio",
    "quantile_between": "quantile",
    "freshness": "age_seconds",
    "no_empty_hours": "empty_hours",
    "monotonic": "violations",
    "drift_psi": "psi",
    "drift_ks": "ks_distance",
    "reconcile_counts": "difference",
    "sql_aggregate": "value",
}
# Rule types whose params hold SQL that may read any column: with one of them every column is kept.
FREE_SQL = ("sql_aggregate", "reconcile_counts")


@dataclass(frozen=True)
class Scope:
    """One contract's dataset rules and the silver rows they apply to (`label`: the event type, or `_default`
    for the types without a contract of their own)."""

    label: str
    contract: CompiledContract
    rows: Column


@dataclass
class Report:
    sweep_id: str
    swept_at: dt.datetime
    date_from: dt.date | None
    date_to: dt.date | None
    results: list[MetricRow] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    failures_published: int = 0
    publish_error: str | None = None
    failures_topic: str = ""
    seconds: float = 0.0

    @property
    def broken(self) -> list[MetricRow]:
        return [r for r in self.results if not r.passed]

    @property
    def exit_code(self) -> int:
        return 1 if any(r.severity == Severity.FAIL.value for r in self.broken) else 0

    def as_json(self) -> dict[str, object]:
        rec = self.reconciliation
        return {
            "sweep_id": self.sweep_id,
            "swept_at": self.swept_at.isoformat(),
            "date_from": self.date_from and self.date_from.isoformat(),
            "date_to": self.date_to and self.date_to.isoformat(),
            "passed": self.exit_code == 0,
            "results": [
                {
                    "table": r.table,
                    "event_type": r.event_type,
                    "rule": r.rule,
                    "rule_type": r.rule_type,
                    "metric": r.metric,
                    "passed": r.passed,
                    "observed": r.observed,
                    "threshold": r.threshold,
                    "severity": r.severity,
                    "message": r.message,
                    "metric_date": r.metric_date and r.metric_date.isoformat(),
                }
                for r in self.results
            ],
            "reconciliation": {
                "checked": rec is not None,
                "hours_checked": len(rec.hours) if rec else 0,
                "settled_before": rec.settled_before.isoformat() + "Z" if rec else None,
                "missing": rec.missing if rec else 0,
                "mismatches": [
                    {
                        "hour": h.hour.isoformat() + "Z",
                        "bronze": h.bronze,
                        "silver": h.silver,
                        "quarantine": h.quarantine,
                        "missing": h.missing,
                    }
                    for h in (rec.mismatches if rec else [])
                ],
            },
            "failures_published": self.failures_published,
            "publish_error": self.publish_error,
            "seconds": round(self.seconds, 3),
        }

    def text(self) -> str:
        span = f"event_date {self.date_from or '…'} to {self.date_to or '…'}"
        lines = [f"weir sweep {self.sweep_id[:12]} ({span})"]
        if not self.results:
            lines.append("  no dataset rules in scope")
        for r in self.results:
            mark = "✓" if r.passed else "✗"
            observed = "none" if r.observed is None else f"{r.observed:.6g}"
            lines.append(
                f"  {mark} {r.table} {r.event_type} {r.rule} [{r.severity}]: observed {observed}, "
                f"expected {r.threshold}"
            )
        lines += self._reconciliation_lines()
        if self.broken:
            where = f" to {self.failures_topic}" if self.failures_topic else ""
            lines.append(f"failures published: {self.failures_published} of {len(self.broken)}{where}")
        if self.publish_error:
            lines.append(f"  could not publish: {self.publish_error}")
        fails = sum(r.severity == Severity.FAIL.value for r in self.broken)
        verdict = "FAILED" if self.exit_code else "ok"
        mismatched = len(self.reconciliation.mismatches) if self.reconciliation else 0
        lines.append(
            f"{verdict}: {len(self.results)} rules, {len(self.broken)} broken ({fails} fail), "
            f"{mismatched} mismatched hours, {self.seconds:.1f} s"
        )
        return "\n".join(lines)

    def _reconciliation_lines(self) -> list[str]:
        rec = self.reconciliation
        if rec is None:
            return ["reconciliation: not checked (only with bronze in --table, or no --table)"]
        settle = int(SETTLE.total_seconds() // 60)
        head = (
            f"reconciliation: {len(rec.hours)} hours of received_at checked, {len(rec.mismatches)} mismatched "
            f"(hours from {rec.settled_before:%Y-%m-%d %H:00}Z on not checked: the stream may not have routed "
            f"them yet, settle {settle} min)"
        )
        lines = [head]
        for h in rec.mismatches:
            lines.append(
                f"  ✗ {h.hour:%Y-%m-%d %H:00}Z: bronze {h.bronze} ids, silver {h.silver} + quarantine "
                f"{h.quarantine} rows, missing {h.missing}"
            )
        return lines


def run(
    spark: SparkSession,
    settings: BatchSettings,
    metrics: JobMetrics,
    *,
    tables: Sequence[str] | None,
    event_types: Sequence[str],
    date_from: dt.date | None,
    date_to: dt.date | None,
    now: dt.datetime | None = None,
) -> Report:
    """Sweep the lake at `settings.lake`: dataset rules when silver is in `tables` (None: all), the
    reconciliation when bronze is (or `tables` is None)."""
    started = time.monotonic()
    chosen = list(tables) if tables else list(ALL_TABLES)
    unknown = sorted(set(chosen) - set(ALL_TABLES))
    if unknown:
        raise BadRangeError(f"unknown table(s) {', '.join(unknown)}: use {', '.join(ALL_TABLES)}")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadRangeError(f"--from {date_from} is after --to {date_to}")
    swept_at = now or dt.datetime.now(dt.UTC)
    report = Report(uuid.uuid4().hex, swept_at, date_from, date_to, failures_topic=settings.failures_topic)
    scopes = _scopes(load_contracts(settings.contracts), event_types) if SILVER in chosen else []
    check = not tables or BRONZE in chosen
    with Progress("sweep", total=len(scopes) + int(check), unit="checks") as progress:
        if scopes:
            report.results = evaluate(spark, settings.lake, scopes, report, progress)
            append_metrics(spark, settings.lake, report.results)
        if check:
            rec = reconcile(spark, settings.lake, date_from=date_from, date_to=date_to, now=swept_at)
            append_ledger(spark, settings.lake, report.sweep_id, swept_at, rec.hours)
            report.reconciliation = rec
            progress.advance(what="reconciliation")
        if report.broken:
            report.failures_published, report.publish_error = publish(report, settings)
        report.seconds = time.monotonic() - started
        _record(metrics, report)
        progress.summary(report.text().splitlines()[-1])
    return report


def _scopes(contracts: dict[str, CompiledContract], event_types: Sequence[str]) -> list[Scope]:
    typed = sorted(name for name in contracts if name != DEFAULT_EVENT_TYPE)
    wanted = set(event_types)
    scopes = [
        Scope(name, contracts[name], F.col(EVENT_TYPE) == F.lit(name))
        for name in typed
        if contracts[name].dataset_rules and (not wanted or name in wanted)
    ]
    default = contracts.get(DEFAULT_EVENT_TYPE)
    if default is not None and default.dataset_rules:
        others = ~F.col(EVENT_TYPE).isin(*typed) if typed else F.lit(True)
        if wanted:
            untyped = sorted(wanted - set(typed))
            if untyped:
                scopes.append(Scope(DEFAULT_EVENT_TYPE, default, others & F.col(EVENT_TYPE).isin(*untyped)))
        else:
            scopes.append(Scope(DEFAULT_EVENT_TYPE, default, others))
    return scopes


def _columns(rules: Sequence[CompiledRule]) -> set[str] | None:
    """The top-level columns the rules read, or None when a rule's SQL may read any."""
    needed = {EVENT_TYPE}
    for rule in rules:
        if rule.type.name in FREE_SQL and (rule.type.name == "sql_aggregate" or getattr(rule.params, "where", None)):
            return None
        paths = [rule.field, getattr(rule.params, "order_by", None), *getattr(rule.params, "fields", [])]
        needed |= {p.split(".")[0] for p in paths if isinstance(p, str)}
    return needed


def _silver(spark: SparkSession, lake: str, date_from: dt.date | None, date_to: dt.date | None) -> DataFrame:
    df = spark.read.format("delta").load(table_uri(lake, SILVER))
    if date_from is not None:
        df = df.where(F.col(EVENT_DATE) >= F.lit(date_from))
    if date_to is not None:
        df = df.where(F.col(EVENT_DATE) <= F.lit(date_to))
    return df


def evaluate(
    spark: SparkSession, lake: str, scopes: Sequence[Scope], report: Report, progress: Progress
) -> list[MetricRow]:
    """Every scope's dataset rules over its silver rows, in one pass over the data (see the module's doc)."""
    base = _silver(spark, lake, report.date_from, report.date_to)
    keys = [
        HistoryKey(SILVER, s.label, r.id) for s in scopes for r in s.contract.dataset_rules if r.type.name == "anomaly"
    ]
    history = anomaly_history(spark, lake, keys, date_from=report.date_from, date_to=report.date_to)
    shared: DataFrame | None = None
    if len(scopes) > 1 and EVENT_TYPE not in PARTITIONS[SILVER]:
        columns = _columns([r for s in scopes for r in s.contract.dataset_rules])
        anyone = F.lit(False)
        for s in scopes:
            anyone = anyone | s.rows
        rows = base.where(anyone)
        shared = (rows if columns is None else rows.select(*sorted(columns))).persist(StorageLevel.MEMORY_AND_DISK)
    out: list[MetricRow] = []
    try:
        for scope in scopes:
            source = shared if shared is not None else base
            past = {k.rule: v for k, v in history.items() if k.event_type == scope.label}
            context = DatasetContext(now=report.swept_at, history=past)
            rules = scope.contract.dataset_rules
            results = evaluate_dataset(source.where(scope.rows), rules, context=context)
            out += [_row(report, scope.label, rule, result) for rule, result in zip(rules, results, strict=True)]
            progress.advance(what=scope.label)
    finally:
        if shared is not None:
            shared.unpersist()
    return out


def _row(report: Report, event_type: str, rule: CompiledRule, result: DatasetResult) -> MetricRow:
    metric = str(getattr(rule.params, "metric", None) or METRICS.get(rule.type.name) or _stat(rule.type.name))
    return MetricRow(
        sweep_id=report.sweep_id,
        swept_at=report.swept_at,
        table=SILVER,
        event_type=event_type,
        rule=rule.id,
        rule_type=rule.type.name,
        metric=metric,
        observed=result.observed,
        threshold=result.threshold,
        passed=result.passed,
        severity=result.severity,
        message=result.message,
        date_from=report.date_from,
        date_to=report.date_to,
    )


def _stat(rule_type: str) -> str:
    return rule_type.removesuffix("_between")


def failure_message(report: Report, r: MetricRow) -> tuple[bytes, bytes]:
    """The DQ-failure topic's record of a broken dataset rule (CONTRACT.md, Topics): no event, so `event_id`,
    `event` and `raw` are null; `table`, `event_type` and the failed rule say what broke, plus the figures."""
    value: dict[str, Any] = {
        "event_id": None,
        "event_type": r.event_type,
        "tenant": None,
        "stage": "sweep",
        "failed_rules": [{"rule": r.rule, "severity": r.severity, "message": r.message}],
        "event": None,
        "raw": None,
        "detected_at": report.swept_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "table": r.table,
        "sweep_id": r.sweep_id,
        "rule_type": r.rule_type,
        "metric": r.metric,
        "observed": r.observed,
        "threshold": r.threshold,
        "date_from": r.date_from and r.date_from.isoformat(),
        "date_to": r.date_to and r.date_to.isoformat(),
    }
    key = f"sweep:{r.table}/{r.event_type}/{r.rule}"
    return key.encode(), json.dumps(value).encode()


def publish(report: Report, settings: BatchSettings) -> tuple[int, str | None]:
    """Publish each broken rule (acks=all); (acknowledged, error or None). A broker that cannot take them is
    reported, not raised: the sweep's verdicts are already in the history and the report."""
    errors: list[str] = []
    delivered = 0

    def on_delivery(err: Any, _msg: Any) -> None:
        nonlocal delivered
        if err is None:
            delivered += 1
        else:
            errors.append(str(err))

    config = producer_config(
        settings.kafka_bootstrap, client_id="weir-sweep", delivery_timeout_ms=int(PUBLISH_TIMEOUT_S * 1000)
    )
    try:
        producer = Producer(config)
        for r in report.broken:
            key, value = failure_message(report, r)
            producer.produce(settings.failures_topic, value=value, key=key, on_delivery=on_delivery)
        left = producer.flush(PUBLISH_TIMEOUT_S + 5)
    except (KafkaException, BufferError) as exc:
        return delivered, str(exc)
    if left:
        errors.append(f"{left} message(s) not delivered within {PUBLISH_TIMEOUT_S:.0f} s")
    if errors:
        print(f"weir sweep: could not publish to {settings.failures_topic}: {errors[0]}", file=sys.stderr)
    return delivered, errors[0] if errors else None


def _record(metrics: JobMetrics, report: Report) -> None:
    for r in report.results:
        metrics.sweep.labels(r.table, r.event_type, r.rule, r.severity).set(1 if r.passed else 0)
        if r.observed is not None:
            metrics.sweep_observed.labels(r.table, r.event_type, r.rule).set(r.observed)
    if report.reconciliation is not None:
        metrics.mismatches.set(len(report.reconciliation.mismatches))
        metrics.missing.set(report.reconciliation.missing)
