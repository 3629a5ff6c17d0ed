"""Dataset rules (declarations): metrics over a whole DataFrame, for sweeps and per micro-batch.

Evaluated by the Spark engine only (`quality.engines.spark.dataset`), every metric of every rule in one
aggregation. Numeric metrics range over the field's numbers (NaN, nulls and other JSON kinds are ignored);
a metric with nothing to measure (the mean of no numbers) is undefined and fails its rule.
"""

import math
import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from quality.rules.base import Params, RuleType, dataset_rule

FAMILY = "dataset"

# The same shape as `quality.contract.FIELD_PATH` (the contract module imports this package: no import).
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_HOURS = 24 * 366

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Ratio = Annotated[float, Field(strict=True, ge=0, le=1)]
Count = Annotated[int, Field(strict=True, ge=0)]


def _path(value: str) -> str:
    if not _PATH.match(value):
        raise ValueError(f"{value!r} is not a field path like `payload.amount` or `occurred_at`")
    return value


class Range(Params):
    """`min` and/or `max` (inclusive); at least one."""

    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class RatioRange(Range):
    min: Ratio | None = None
    max: Ratio | None = None


class CountRange(Range):
    min: Count | None = None
    max: Count | None = None


class RowCountParams(Params):
    min: Count = 0
    max: Count | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class RatioThreshold(Params):
    threshold: Ratio


class UniqueParams(Params):
    fields: list[str] = Field(min_length=1, max_length=16)

    @field_validator("fields")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a key lists each field once")
        return [_path(v) for v in value]


class QuantileParams(Range):
    quantile: Ratio


class FreshnessParams(Params):
    max_age_seconds: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]


class HoursParams(Params):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _span(self) -> Self:
        hours = (self.end - self.start).total_seconds() / 3600
        if hours <= 0:
            raise ValueError("`start` must be before `end`")
        if hours > MAX_HOURS:
            raise ValueError(f"the range spans {math.ceil(hours)} hours: at most {MAX_HOURS}")
        return self


class MonotonicParams(Params):
    order_by: str
    strict: Annotated[bool, Field(strict=True)] = False
    direction: Literal["increasing", "decreasing"] = "increasing"

    @field_validator("order_by")
    @classmethod
    def _order(cls, value: str) -> str:
        return _path(value)


class PsiParams(Params):
    bins: list[Number] = Field(min_length=1, max_length=100)
    expected: list[Ratio]
    threshold: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] = 0.2

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if any(lo >= hi for lo, hi in pairwise(self.bins)):
            raise ValueError("`bins` must be strictly increasing")
        if len(self.expected) != len(self.bins) + 1:
            raise ValueError(
                f"`expected` needs {len(self.bins) + 1} proportions (below the first edge, between edges, "
                f"from the last edge up), got {len(self.expected)}"
            )
        if abs(sum(self.expected) - 1) > 1e-6:
            raise ValueError(f"`expected` must sum to 1 (sums to {sum(self.expected)})")
        return self


class KsParams(Params):
    reference: list[Number] = Field(min_length=10, max_length=100_000)
    threshold: Annotated[float, Field(strict=True, gt=0, le=1)] = 0.1


class AnomalyParams(Params):
    metric: Literal["row_count", "mean", "null_ratio", "distinct_count"]
    k: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] = 3.0
    min_history: Annotated[int, Field(strict=True, ge=2)] = 5


class ReconcileParams(Params):
    other_table: str = Field(min_length=1)
    tolerance: Count = 0
    where: str | None = Field(default=None, min_length=1)


class SqlAggregateParams(Range):
    expr: str = Field(min_length=1)


def _rule(
    name: str,
    summary: str,
    params: type[Params],
    message: str,
    field: str | None,
    p: Mapping[str, object],
    *,
    needs_field: bool | None = None,
) -> RuleType:
    example: dict[str, object] = {"rule": name}
    if field is not None:
        example["field"] = field
    if p:
        example["params"] = p
    needs = field is not None if needs_field is None else needs_field
    return dataset_rule(name, FAMILY, summary, params, message, example, needs_field=needs)


_BOUNDS = "{field}: {what} is out of range"

RULES: list[RuleType] = [
    _rule(
        "row_count_between",
        "The number of rows is within [min, max] (max unbounded when absent).",
        RowCountParams,
        "row count is out of range",
        None,
        {"min": 1, "max": 5_000_000},
    ),
    _rule(
        "completeness",
        "At least `threshold` of the rows have the field (present, not null); no rows pass.",
        RatioThreshold,
        "{field} is present in too few rows (at least {threshold} required)",
        "payload.customer_id",
        {"threshold": 0.99},
    ),
    _rule(
        "null_ratio_at_most",
        "At most `threshold` of the rows lack the field (absent or null); no rows pass.",
        RatioThreshold,
        "{field} is null in too many rows (at most {threshold} allowed)",
        "payload.coupon_code",
        {"threshold": 0.2},
    ),
    _rule(
        "unique",
        "No two rows share the key `fields` (exact; a row with a null key part is not a duplicate).",
        UniqueParams,
        "the key {fields} has duplicates",
        None,
        {"fields": ["event_id"]},
    ),
    _rule(
        "distinct_count_between",
        "The number of distinct non-null values is within [min, max] (HyperLogLog estimate, ~1% error).",
        CountRange,
        _BOUNDS.replace("{what}", "distinct count"),
        "payload.currency",
        {"min": 1, "max": 40},
    ),
    _rule(
        "distinct_ratio_between",
        "Distinct values over non-null values is within [min, max] (HyperLogLog estimate).",
        RatioRange,
        _BOUNDS.replace("{what}", "distinct ratio"),
        "payload.session_id",
        {"min": 0.5},
    ),
    *(
        _rule(
            f"{stat}_between",
            f"The {label} of the field's numbers is within [min, max].",
            Range,
            _BOUNDS.replace("{what}", stat),
            "payload.amount",
            bounds,
        )
        for stat, label, bounds in (
            ("min", "smallest", {"min": 0}),
            ("max", "largest", {"max": 100_000}),
            ("mean", "mean", {"min": 5, "max": 500}),
            ("median", "approximate median (percentile_approx)", {"min": 10, "max": 200}),
            ("stddev", "population standard deviation", {"max": 1_000}),
            ("sum", "sum (0 for no numbers)", {"min": 0}),
        )
    ),
    _rule(
        "quantile_between",
        "The approximate `quantile` (percentile_approx) of the field's numbers is within [min, max].",
        QuantileParams,
        "{field}: quantile {quantile} is out of range",
        "payload.amount",
        {"quantile": 0.95, "max": 2_000},
    ),
    _rule(
        "freshness",
        "The newest timestamp of the field is at most `max_age_seconds` old (no timestamps fail).",
        FreshnessParams,
        "{field}: newest value is older than {max_age_seconds} s",
        "occurred_at",
        {"max_age_seconds": 3600},
    ),
    _rule(
        "no_empty_hours",
        "Every hour of [start, end), counted from `start`, has a row by the field's timestamp.",
        HoursParams,
        "{field}: hours without rows between {start} and {end}",
        "occurred_at",
        {"start": "2026-11-24T00:00:00Z", "end": "2026-11-25T00:00:00Z"},
    ),
    _rule(
        "monotonic",
        "Ordered by `order_by`, the field's numbers or timestamps never go against `direction`.",
        MonotonicParams,
        "{field} is not {direction} by {order_by}",
        "payload.sequence",
        {"order_by": "occurred_at", "strict": True},
    ),
    _rule(
        "drift_psi",
        "The population stability index of the field's numbers against `expected` is at most `threshold`.",
        PsiParams,
        "{field} drifted from its expected distribution (PSI threshold {threshold})",
        "payload.amount",
        {"bins": [10, 50, 200], "expected": [0.1, 0.4, 0.4, 0.1], "threshold": 0.2},
    ),
    _rule(
        "drift_ks",
        "The Kolmogorov-Smirnov distance to `reference` is at most `threshold` (approximate, ~0.01).",
        KsParams,
        "{field} drifted from its reference sample (KS threshold {threshold})",
        "payload.amount",
        {"reference": [12.5, 19.9, 24.0, 31.0, 35.5, 42.0, 48.0, 55.0, 61.5, 80.0, 99.0, 150.0]},
    ),
    _rule(
        "anomaly",
        "Today's `metric` is within mean ± k·stddev of its history (passes until `min_history` values).",
        AnomalyParams,
        "{field}: {metric} is anomalous (beyond {k} standard deviations)",
        "payload.amount",
        {"metric": "mean", "k": 3.0, "min_history": 7},
        needs_field=False,  # `row_count` needs none; the engine asks for one for the other metrics
    ),
    _rule(
        "reconcile_counts",
        "The row count equals the Delta table `other_table`'s, within `tolerance` (`where` filters both).",
        ReconcileParams,
        "row count differs from {other_table}",
        None,
        {"other_table": "s3a://acme-lake/bronze/events", "tolerance": 10, "where": "event_type = 'order.created'"},
    ),
    _rule(
        "sql_aggregate",
        "A Spark SQL aggregate expression over the rows is within [min, max].",
        SqlAggregateParams,
        "{expr} is out of range",
        None,
        {"expr": "count_if(event_type = 'order.created') / count(*)", "min": 0.1},
    ),
]
