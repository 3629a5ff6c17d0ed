"""Dataset checks of the Spark engine: what a check is, the registry, and the metric checks (counts,
completeness, uniqueness, distinct counts, statistics, custom SQL aggregates).

A check contributes aggregate expressions to the engine's one aggregation and, once the row of results is
back, turns its values into a verdict. Numeric metrics range over the field's numbers: nulls, NaN and values
of other JSON kinds are ignored. A metric with nothing to measure is None and fails its rule; the share
rules (completeness, null ratio) and the count rules pass on no rows.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from quality.engines.spark.values import PAYLOAD, PAYLOAD_VARIANT, Field, Fields
from quality.registry import Registry
from quality.rules.dataset import Range, RatioThreshold, RowCountParams, UniqueParams

Verdict = tuple[bool, float | None, str]
# HyperLogLog's relative standard deviation: 0.01 (16384 registers, ~12 KB a partition). Spark's default,
# 0.05, has so few registers that two of three currency codes can share one and count as one.
HLL_RSD = 0.01


@dataclass(frozen=True)
class CheckContext:
    """What a check's `finish` sees beyond its values: the evaluation time (aware), this rule's past metric
    values (oldest first) and the session (reconciliation reads another table with it)."""

    now: datetime
    history: Sequence[float]
    session: SparkSession


class DatasetFields(Fields):
    """`Fields` plus `key(path)`: a value to count distinct keys by."""

    def __init__(self, df: DataFrame, now: Column | None = None) -> None:
        super().__init__(df, now)
        payload = next((f for f in df.schema.fields if f.name == PAYLOAD), None)
        self._payload_text = payload is not None and isinstance(payload.dataType, StringType)

    def key(self, path: str) -> Column:
        """The field's value, null when absent or null. Payload values compare by their canonical JSON
        text (`1` equals `1.0`, `"1"` does not equal `1`); typed columns by value."""
        f = self(path)
        head, _, rest = path.partition(".")
        if head == PAYLOAD and self._payload_text:
            sub = F.try_variant_get(F.col(PAYLOAD_VARIANT), "$." + rest if rest else "$", "variant")
            return F.when(~f.is_null, F.to_json(sub))
        return F.when(~f.is_null, F.col(path))


Aggregates = Callable[[Any, str | None, DatasetFields], Mapping[str, Column]]
Finish = Callable[[Any, Mapping[str, Any], CheckContext], Verdict]
Prepare = Callable[[Any, str | None, DataFrame], DataFrame]


@dataclass(frozen=True)
class DatasetCheck:
    """`aggregates(params, field, fields)`: aggregate expressions by name (the engine prefixes the names);
    `finish(params, values, context)`: (passed, observed, threshold) from those values by name;
    `prepare(params, field, df)`: an optional pre-projection (window columns) whose columns the aggregates
    read by a name derived from the params (two identical rules share it); `separate`: the names of aggregates
    that run in an aggregation of their own (an exact distinct count: in one aggregation with sketches such as
    `percentile_approx`, Spark's distinct rewrite keeps a sketch buffer per distinct key, hundreds of times
    slower than two aggregations over the same cached rows)."""

    aggregates: Aggregates
    finish: Finish
    prepare: Prepare | None = None
    separate: frozenset[str] = frozenset()


SPARK_DATASET_CHECKS: Registry[DatasetCheck] = Registry("spark dataset check")


def dataset_check(
    name: str,
    aggregates: Aggregates,
    finish: Finish,
    prepare: Prepare | None = None,
    separate: frozenset[str] = frozenset(),
) -> None:
    SPARK_DATASET_CHECKS.register(name, DatasetCheck(aggregates, finish, prepare, separate))


def need(field: str | None) -> str:
    if field is None:
        raise ValueError("this rule needs a field")
    return field


def number(f: Field) -> Column:
    """The field's number as DOUBLE; null for null, NaN and other kinds."""
    return F.when(f.is_kind("integer", "number") & ~F.isnan(f.number), f.number)


def fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def bounds(p: Range) -> str:
    if p.min is not None and p.max is not None:
        return f"between {fmt(p.min)} and {fmt(p.max)}"
    return f">= {fmt(p.min)}" if p.min is not None else f"<= {fmt(p.max)}"


def within(p: Range, observed: float | None) -> Verdict:
    """Passes when `observed` is defined and within `p`'s bounds (inclusive)."""
    ok = observed is not None
    if observed is not None and p.min is not None:
        ok = ok and observed >= p.min
    if observed is not None and p.max is not None:
        ok = ok and observed <= p.max
    return ok, observed, bounds(p)


# --- row count, completeness, null ratio -------------------------------------------------------------


def _row_count_finish(p: RowCountParams, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    rows = int(v["rows"])
    ok = rows >= p.min and (p.max is None or rows <= p.max)
    threshold = f">= {p.min}" if p.max is None else f"between {p.min} and {p.max}"
    return ok, float(rows), threshold


dataset_check("row_count_between", lambda _p, _f, _fs: {"rows": F.count(F.lit(1))}, _row_count_finish)


def presence(_p: Any, field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
    f = fields(need(field))
    return {"rows": F.count(F.lit(1)), "nulls": F.count_if(f.is_null)}


def null_ratio(v: Mapping[str, Any]) -> float | None:
    rows = int(v["rows"])
    return None if rows == 0 else int(v["nulls"]) / rows


def _completeness(p: RatioThreshold, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    ratio = null_ratio(v)
    if ratio is None:
        return True, None, f">= {fmt(p.threshold)} (no rows)"
    return 1 - ratio >= p.threshold, 1 - ratio, f">= {fmt(p.threshold)}"


def _null_ratio(p: RatioThreshold, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    ratio = null_ratio(v)
    if ratio is None:
        return True, None, f"<= {fmt(p.threshold)} (no rows)"
    return ratio <= p.threshold, ratio, f"<= {fmt(p.threshold)}"


dataset_check("completeness", presence, _completeness)
dataset_check("null_ratio_at_most", presence, _null_ratio)


# --- uniqueness and distinct counts ------------------------------------------------------------------


def _unique_aggs(p: UniqueParams, _field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
    keys = [fields.key(path) for path in p.fields]
    complete = reduce(lambda a, b: a & b, [k.isNotNull() for k in keys])
    return {"keyed": F.count_if(complete), "distinct": F.count_distinct(*keys)}


def _unique_finish(_p: UniqueParams, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    duplicates = int(v["keyed"]) - int(v["distinct"])
    return duplicates == 0, float(duplicates), "0 duplicate rows"


dataset_check("unique", _unique_aggs, _unique_finish, separate=frozenset({"distinct"}))


def distinct(_p: Any, field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
    key = fields.key(need(field))
    return {"distinct": F.approx_count_distinct(key, HLL_RSD), "values": F.count(key)}


def _distinct_ratio(p: Range, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    values = int(v["values"])
    return within(p, None if values == 0 else min(1.0, int(v["distinct"]) / values))


dataset_check("distinct_count_between", distinct, lambda p, v, _c: within(p, float(v["distinct"])))
dataset_check("distinct_ratio_between", distinct, _distinct_ratio)


# --- statistics of the field's numbers ---------------------------------------------------------------

STATISTICS: Mapping[str, Callable[[Column], Column]] = {
    "min": F.min,
    "max": F.max,
    "mean": F.avg,
    "median": lambda x: F.percentile_approx(x, 0.5),
    "stddev": F.stddev_pop,
    "sum": lambda x: F.coalesce(F.sum(x), F.lit(0.0)),
}


def _statistic(stat: Callable[[Column], Column]) -> Aggregates:
    def aggregates(_p: Any, field: str | None, fields: DatasetFields) -> Mapping[str, Column]:
        return {"value": stat(number(fields(need(field))))}

    return aggregates


def _value_within(p: Range, v: Mapping[str, Any], _c: CheckContext) -> Verdict:
    return within(p, as_float(v["value"]))


for _name, _stat in STATISTICS.items():
    dataset_check(f"{_name}_between", _statistic(_stat), _value_within)

dataset_check(
    "quantile_between",
    lambda p, field, fields: {"value": F.percentile_approx(number(fields(need(field))), p.quantile)},
    _value_within,
)
dataset_check("sql_aggregate", lambda p, _f, _fs: {"value": F.expr(p.expr).cast("double")}, _value_within)
