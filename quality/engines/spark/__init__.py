"""The Spark engine. Row rules compile to boolean Columns and run in **one projection**: the result is the
input plus `dq_failures`, an array of `{rule, severity, message}` naming every rule the row broke (empty
when clean). No Spark action happens here; the caller's write is the only job. The same functions serve a
streaming `foreachBatch` and a batch job."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from quality.contract import CompiledContract, CompiledRule
from quality.engines.spark import (  # noqa: F401  (each module registers its checks)
    formats,
    nulls,
    numbers,
    sets,
    strings,
    structure,
    temporal,
)
from quality.engines.spark.dataset import DatasetContext, DatasetResult, evaluate_dataset
from quality.engines.spark.dataset_metrics import SPARK_DATASET_CHECKS
from quality.engines.spark.registry import SPARK_ROW_CHECKS
from quality.engines.spark.values import Fields
from quality.exceptions import UnsupportedRuleError

__all__ = [
    "FAILURES",
    "SPARK_DATASET_CHECKS",
    "SPARK_ROW_CHECKS",
    "DatasetContext",
    "DatasetResult",
    "evaluate_dataset",
    "with_contract_failures",
    "with_dq_failures",
]

FAILURES = "dq_failures"
FAILURE_TYPE = "array<struct<rule:string,severity:string,message:string>>"


def _now(now: datetime | Column | None) -> Column | None:
    """The instant time rules compare with: a datetime, or a Column (a stream's batch timestamp, so that a
    replayed micro-batch gets the same verdicts); None means `current_timestamp()`."""
    if now is None or isinstance(now, Column):
        return now
    return F.lit(now).cast("timestamp")


def _failures(fields: Fields, rules: Sequence[CompiledRule]) -> Column:
    """`concat` of one-element-or-empty arrays, one per rule. Not `filter(array(...))`: Spark's higher-order
    functions are interpreted (no whole-stage code generation), which made 50 rules cost ~10x the scan."""
    empty = F.array().cast(FAILURE_TYPE)
    entries: list[Column] = []
    for rule in rules:
        if rule.type.name not in SPARK_ROW_CHECKS:
            raise UnsupportedRuleError(f"the Spark engine has no row check {rule.type.name!r} (rule {rule.id})")
        passes = SPARK_ROW_CHECKS.get(rule.type.name)(rule.params, fields, rule.field)
        failure = F.struct(
            F.lit(rule.id).alias("rule"),
            F.lit(rule.severity.value).alias("severity"),
            F.lit(rule.message).alias("message"),
        )
        entries.append(F.when(F.coalesce(passes, F.lit(True)), empty).otherwise(F.array(failure)))
    if not entries:
        return empty
    return F.concat(*entries)


def _project(df: DataFrame, fields: Fields, failures: Column, column: str) -> DataFrame:
    """Helper columns first (the payload parsed once, each payload field's value and kind once, then the values
    several rules share: `Fields.shared`), then the failures, then the helpers dropped: Spark runs it all in
    one stage."""
    out = df
    for step in fields.helper_steps():
        out = out.withColumns(step)
    out = out.withColumn(column, failures)
    helpers = fields.helper_columns()
    return out.drop(*helpers) if helpers else out


def with_dq_failures(
    df: DataFrame,
    rules: Sequence[CompiledRule],
    *,
    now: datetime | Column | None = None,
    column: str = FAILURES,
) -> DataFrame:
    """`df` plus `column`: the rules each row broke, in the order of `rules`."""
    fields = Fields(df, _now(now))
    return _project(df, fields, _failures(fields, rules), column)


def with_contract_failures(
    df: DataFrame,
    contracts: Mapping[str, CompiledContract],
    *,
    default: CompiledContract | None = None,
    event_type: str = "event_type",
    now: datetime | Column | None = None,
    column: str = FAILURES,
    payload_variant: str | None = None,
) -> DataFrame:
    """`df` plus `column`, each row checked against the contract of its `event_type` (else `default`).
    `payload_variant` names a VARIANT column that already holds the parsed `payload` (else its JSON text is
    parsed once per row)."""
    fields = Fields(df, _now(now), payload_variant)
    expr: Column | None = None
    for name, contract in sorted(contracts.items()):
        branch = _failures(fields, contract.row_rules)
        cond = F.col(event_type) == F.lit(name)
        expr = F.when(cond, branch) if expr is None else expr.when(cond, branch)
    fallback = _failures(fields, default.row_rules if default else ())
    failures = fallback if expr is None else expr.otherwise(fallback)
    return _project(df, fields, failures, column)
