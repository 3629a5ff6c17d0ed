"""Dataset rules on Spark: every metric of every rule in **one aggregation** (one `df.agg`, one Spark job).

Sketches stand in where an exact metric needs a shuffle of its own: HyperLogLog (`approx_count_distinct`)
for distinct counts, `percentile_approx` for medians, quantiles and the KS distance. Exact exceptions: `unique`
counts distinct keys exactly (in the same aggregation), `monotonic` pre-projects a lag window (in the same
query), and `reconcile_counts` counts the other table (one more job).

This module holds the public surface (`evaluate_dataset`, `DatasetResult`, `DatasetContext`) and the checks
that compare against time, an expected distribution, history or another table; the metric checks are in
`quality.engines.spark.dataset_metrics`.
"""

import hashlib
import math
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from quality.contract import CompiledRule
from quality.engines.spark.dataset_metrics import (
    SPARK_DATASET_CHECKS,
    CheckContext,
    DatasetCheck,
    DatasetFields,
    Verdict,
    as_float,
    dataset_check,
    distinct,
    fmt,
    need,
    null_ratio,
    number,
    presence,
)
from quality.engines.spark.values import Field, Fields
from quality.exceptions import UnsupportedRuleError
from quality.rules.base import RuleKind
from quality.rules.dataset import (
    AnomalyParams,
    FreshnessParams,
    HoursParams,
    KsParams,
    MonotonicParams,
    PsiParams,
    ReconcileParams,
)

__all__ = [
    "SPARK_DATASET_CHECKS",
    "CheckContext",
    "DatasetCheck",
    "DatasetContext",
    "DatasetResult",
    "evaluate_dataset",
]

HOUR_US = 3_600_000_000
PSI_EPSILON = 1e-4  # stands in for an empty bucket's proportion (ln 0 is undefined)
KS_POINTS = 100  # the current CDF is read at the quantiles 0, 1/100, …, 1


@dataclass(frozen=True)
class DatasetResult:
    """One rule's verdict. `observed`: the metric measured (None when undefined); `threshold`: what it had to
    meet, for people (">= 0.99"); `message`: the rule's message with both."""

    rule: str
    severity: str
    passed: bool
    observed: float | None
    threshold: str
    message: str


@dataclass(frozen=True)
class DatasetContext:
    """`now`: the evaluation time (default: the wall clock; naive means UTC). `history`: past values of a
    rule's metric by rule id, oldest first (the trailing window `anomaly` compares against)."""

    now: datetime | None = None
    history: Mapping[str, Sequence[float]] = field(default_factory=dict)


def evaluate_dataset(
    df: DataFrame, rules: Sequence[CompiledRule], *, context: DatasetContext | None = None
) -> list[DatasetResult]:
    """The verdict of each dataset rule on `df`, in the order of `rules`: one Spark job for all their
    metrics (a second one over the cached rows for exact distinct counts, plus one count per
    `reconcile_counts`). Raises `UnsupportedRuleError` for a rule that is not a dataset rule of this engine."""
    ctx = context or DatasetContext()
    now = ctx.now or datetime.now(UTC)
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    checks = [(rule, _check(rule)) for rule in rules]
    if not checks:
        return []
    prepared = df
    for rule, check in checks:
        if check.prepare is not None:
            prepared = check.prepare(rule.params, rule.field, prepared)
    fields = DatasetFields(prepared, F.lit(now))
    columns: list[Column] = []
    apart: list[Column] = []
    names: list[list[str]] = []
    # Exact distinct counts go apart only beside other checks' aggregates (alone, one aggregation is right).
    split = len({bool(check.separate) for _, check in checks}) > 1
    for i, (rule, check) in enumerate(checks):
        aggregates = check.aggregates(rule.params, rule.field, fields)
        names.append(list(aggregates))
        for name, col in aggregates.items():
            (apart if split and name in check.separate else columns).append(col.alias(f"r{i}_{name}"))
    for step in fields.helper_steps():
        prepared = prepared.withColumns(step)
    row = _aggregate(prepared, columns, apart)
    results: list[DatasetResult] = []
    for i, (rule, check) in enumerate(checks):
        values = {name: row[f"r{i}_{name}"] for name in names[i]}
        history = tuple(ctx.history.get(rule.id, ()))
        passed, observed, threshold = check.finish(rule.params, values, CheckContext(now, history, df.sparkSession))
        message = f"{rule.message} (observed {fmt(observed)}; expected {threshold})"
        results.append(DatasetResult(rule.id, rule.severity.value, passed, observed, threshold, message))
    return results


def _aggregate(prepared: DataFrame, columns: list[Column], apart: list[Column]) -> dict[str, Any]:
    """Every aggregate's value by name: `columns` in one aggregation; `apart` (exact distinct counts) in a second
    one over the same rows, cached by the first so that storage is read once."""
    if not apart or not columns:
        return prepared.agg(*(columns or apart)).collect()[0].asDict()
    cached = prepared.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        out = cached.agg(*columns).collect()[0].asDict()
        out.update(cached.agg(*apart).collect()[0].asDict())
    finally:
        cached.unpersist()
    return out


def _check(rule: CompiledRule) -> DatasetCheck:
    if rule.type.kind is not RuleKind.DATASET or rule.type.name not in SPARK_DATASET_CHECKS:
        raise UnsupportedRuleError(f"the Spark engine has no dataset check {rule.type.name!r} (rule {rule.id})")
    return SPARK_DATASET_CHECKS.get(rule.type.name)


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _instant_us(f: Field) -> Column:
    """Microseconds since the epoch of the field's timestamp (typed, or an RFC 3339 string)."""
    return F.unix_micros(f.timestamp)


# --- time: freshness, no_empty_hours -----------------------------------------------------------------


def _freshness_finish(p: FreshnessParams, v: Mapping[str, Any], c: CheckContext) -> Verdict:
    threshold = f"age <= {fmt(p.max_age_seconds)} s"
    if v["newest"] is None:
        return False, None, threshold + " (no timestamps)"
    age = (_micros(c.now) - int(v["newest"])) / 1e6
    return age <= p.max_age_seconds, age, threshold


dataset_check(
    "freshness",
    lambda _p, field, fields: {"newest": F.max(_instant_us(fields(need(field))))},
    _freshness_finish,
)


def _hours(p: HoursParams) -> int:
    return math.ceil((p.end - p.start).total_seconds() / 3600)


def _hours_aggs(p: HoursParams, field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
    us, start, end = _instant_us(fields(need(field))), _micros(p.start), _micros(p.end)
    hour = F.when((us >= start) & (us < end), F.floor((us - F.lit(start)) / F.lit(HOUR_US)))
    return {"hours": F.size(F.collect_set(hour))}


def _hours_finish(p: HoursParams, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    empty = _hours(p) - int(v["hours"])
    return empty == 0, float(empty), f"0 empty hours of {_hours(p)} from {p.start.isoformat()}"


dataset_check("no_empty_hours", _hours_aggs, _hours_finish)


# --- monotonic: a lag window in a pre-projection, violations counted in the aggregation ----------------


def _orderable(f: Field) -> Column:
    """A number, or a timestamp as microseconds since the epoch (DOUBLE); null otherwise."""
    return F.coalesce(number(f), _instant_us(f).cast("double"))


def _monotonic_column(p: MonotonicParams, field: str | None) -> str:
    digest = hashlib.sha256(f"{field}|{p.order_by}|{p.strict}|{p.direction}".encode()).hexdigest()
    return f"__weir_monotonic_{digest[:16]}"


def _monotonic_prepare(p: MonotonicParams, field: str | None, df: DataFrame) -> DataFrame:
    """Flags (1) each row whose value goes against `direction` from the previous row by `order_by`. Rows
    without an orderable value or order are left out; ties in `order_by` are ordered by the value, so
    they are no violation unless `strict` and equal. Payload fields are parsed here for the window."""
    fields = Fields(df)
    value, order = _orderable(fields(need(field))), _orderable(fields(p.order_by))
    out = df
    for step in fields.helper_steps():
        out = out.withColumns(step)
    valid = value.isNotNull() & order.isNotNull()
    up = p.direction == "increasing"
    prev = F.lag(value).over(Window.partitionBy(valid).orderBy(order, value.asc() if up else value.desc()))
    ahead, behind = (value, prev) if up else (prev, value)  # a violation: `ahead` below `behind`
    bad = ahead <= behind if p.strict else ahead < behind
    flagged = out.withColumn(_monotonic_column(p, field), F.when(valid & bad, 1).otherwise(0))
    return flagged.drop(*fields.helper_columns())


def _monotonic_aggs(p: MonotonicParams, field: str | None, _fs: DatasetFields) -> Mapping[str, Column]:
    return {"violations": F.sum(F.col(_monotonic_column(p, field)))}


def _monotonic_finish(p: MonotonicParams, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    violations = int(v["violations"] or 0)
    kind = "strictly " + p.direction if p.strict else p.direction
    return violations == 0, float(violations), f"0 rows out of order ({kind} by {p.order_by})"


dataset_check("monotonic", _monotonic_aggs, _monotonic_finish, _monotonic_prepare)


# --- drift: PSI against expected proportions, KS distance to a reference sample -----------------------


def _psi_aggs(p: PsiParams, field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
    x = number(fields(need(field)))
    edges = [F.lit(e) for e in p.bins]
    buckets = [x < edges[0]]
    buckets += [(x >= lo) & (x < hi) for lo, hi in pairwise(edges)]
    buckets.append(x >= edges[-1])
    return {"n": F.count(x), **{f"b{i}": F.count_if(cond) for i, cond in enumerate(buckets)}}


def psi(actual: Sequence[float], expected: Sequence[float]) -> float:
    """Sum of (a - e)·ln(a / e) over buckets; an empty bucket counts as PSI_EPSILON."""
    pairs = [(max(a, PSI_EPSILON), max(e, PSI_EPSILON)) for a, e in zip(actual, expected, strict=True)]
    return sum((a - e) * math.log(a / e) for a, e in pairs)


def _psi_finish(p: PsiParams, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    threshold = f"PSI <= {fmt(p.threshold)}"
    n = int(v["n"])
    if n == 0:
        return False, None, threshold + " (no numbers)"
    value = psi([int(v[f"b{i}"]) / n for i in range(len(p.expected))], p.expected)
    return value <= p.threshold, value, threshold


dataset_check("drift_psi", _psi_aggs, _psi_finish)


def _ks_aggs(_p: KsParams, field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
    x = number(fields(need(field)))
    return {"n": F.count(x), "q": F.percentile_approx(x, [j / KS_POINTS for j in range(KS_POINTS + 1)])}


def ks_distance(quantiles: Sequence[float], reference: Sequence[float]) -> float:
    """sup |F_cur - F_ref|, with F_cur the step function through the current quantiles (F_cur(q_j) = j/m)
    and F_ref the reference's empirical CDF, evaluated on both sides of every point of either. The current
    CDF is under-read by at most 1/m between quantiles, so the distance is within about 1/m (plus the
    sketch's rank error, 1/10000) of the exact two-sample statistic."""
    q, ref = sorted(quantiles), sorted(reference)
    m, n = len(q) - 1, len(ref)
    worst = 0.0
    for t in set(q) | set(ref):
        at = abs(max(bisect_right(q, t) - 1, 0) / m - bisect_right(ref, t) / n)
        before = abs(max(bisect_left(q, t) - 1, 0) / m - bisect_left(ref, t) / n)
        worst = max(worst, at, before)
    return worst


def _ks_finish(p: KsParams, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    threshold = f"KS <= {fmt(p.threshold)}"
    if int(v["n"]) == 0 or v["q"] is None:
        return False, None, threshold + " (no numbers)"
    value = ks_distance([float(x) for x in v["q"]], p.reference)
    return value <= p.threshold, value, threshold


dataset_check("drift_ks", _ks_aggs, _ks_finish)


# --- anomaly: today's metric against mean ± k·stddev of its history -----------------------------------


def _anomaly_aggs(p: AnomalyParams, field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
    if p.metric == "row_count":
        return {"rows": F.count(F.lit(1))}
    if field is None:
        raise ValueError(f"anomaly on {p.metric!r} needs a `field`")
    if p.metric == "mean":
        return {"mean": F.avg(number(fields(field)))}
    if p.metric == "null_ratio":
        return presence(p, field, fields)
    return distinct(p, field, fields)


def _metric(p: AnomalyParams, v: Mapping[str, Any]) -> float | None:
    if p.metric == "row_count":
        return float(v["rows"])
    if p.metric == "mean":
        return as_float(v["mean"])
    if p.metric == "null_ratio":
        return null_ratio(v)
    return float(v["distinct"])


def _anomaly_finish(p: AnomalyParams, v: Mapping[str, Any], c: CheckContext) -> Verdict:
    today = _metric(p, v)
    past = [float(h) for h in c.history if h is not None and math.isfinite(h)]
    if len(past) < p.min_history:
        return True, today, f"insufficient history ({len(past)} of {p.min_history} values)"
    mean, sd = statistics.fmean(past), statistics.stdev(past)
    lo, hi = mean - p.k * sd, mean + p.k * sd
    threshold = f"between {fmt(lo)} and {fmt(hi)} (mean {fmt(mean)} ± {fmt(p.k)}·{fmt(sd)}, {len(past)} values)"
    return today is not None and lo <= today <= hi, today, threshold


dataset_check("anomaly", _anomaly_aggs, _anomaly_finish)


# --- reconcile_counts: this DataFrame's count against another Delta table's ---------------------------


def _reconcile_aggs(p: ReconcileParams, _f: str | None, _fs: DatasetFields) -> Mapping[str, Column]:
    return {"rows": F.count_if(F.expr(p.where)) if p.where else F.count(F.lit(1))}


def _reconcile_finish(p: ReconcileParams, v: Mapping[str, Any], c: CheckContext) -> Verdict:
    try:
        other = c.session.read.format("delta").load(p.other_table)
        other_rows = (other.where(p.where) if p.where else other).count()
    except AnalysisException as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return False, None, f"|difference| <= {p.tolerance} (cannot read {p.other_table}: {reason})"
    difference = int(v["rows"]) - other_rows
    threshold = f"|difference| <= {p.tolerance} (other table: {other_rows} rows)"
    return abs(difference) <= p.tolerance, float(difference), threshold


dataset_check("reconcile_counts", _reconcile_aggs, _reconcile_finish)
