"""The Spark engine. Row rules compile to boolean Columns and run in **one projection**: the result is the
input plus `dq_failures`, an array of `{rule, severity, message}` naming every rule the row broke (empty
when clean). Each rule's verdict is a boolean helper column; the array is built only for a row that broke
something (a clean row gets a constant). No Spark action happens here; the caller's write is the only job.
The same functions serve a streaming `foreachBatch` and a batch job."""

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


def _entry(rule: CompiledRule) -> Column:
    """The one-element failure array of `rule`: literals only (Spark folds it to a constant)."""
    return F.array(
        F.struct(
            F.lit(rule.id).alias("rule"),
            F.lit(rule.severity.value).alias("severity"),
            F.lit(rule.message).alias("message"),
        )
    )


class _Verdicts:
    """Each rule's verdict as one boolean helper column (True: passes; a null verdict counts as a pass), computed
    in the projection before the failures; then the failure array built only for a row that broke something:
    a clean row costs 50 booleans and one AND, not 50 arrays and a `concat`."""

    def __init__(self, fields: Fields) -> None:
        self.fields = fields
        self.guards: dict[str, Column] = {}
        self.columns: dict[str, Column] = {}

    def guard(self, condition: Column) -> Column:
        """`condition` (null as false) as a helper column computed once per row, before the verdicts: each
        guarded verdict then reads one boolean instead of comparing the event type again."""
        name = f"__weir_g{len(self.guards)}"
        self.guards[name] = F.coalesce(condition, F.lit(False))
        return F.col(name)

    def passes(self, rule: CompiledRule, guard: Column | None) -> Column:
        if rule.type.name not in SPARK_ROW_CHECKS:
            raise UnsupportedRuleError(f"the Spark engine has no row check {rule.type.name!r} (rule {rule.id})")
        passes = F.coalesce(SPARK_ROW_CHECKS.get(rule.type.name)(rule.params, self.fields, rule.field), F.lit(True))
        if guard is not None:  # another event type's rows skip this contract's checks
            passes = F.when(guard, passes).otherwise(F.lit(True))
        name = f"__weir_p{len(self.columns)}"
        self.columns[name] = passes
        return F.col(name)

    def failures(self, rules: Sequence[CompiledRule], guard: Column | None = None) -> Column:
        """The rules a row broke, in the order of `rules`; the constant empty array when it broke none."""
        empty = F.array().cast(FAILURE_TYPE)
        if not rules:
            return empty
        verdicts = [(rule, self.passes(rule, guard)) for rule in rules]
        clean = verdicts[0][1]
        for _, ok in verdicts[1:]:
            clean = clean & ok
        broken = F.concat(*(F.when(ok, empty).otherwise(_entry(rule)) for rule, ok in verdicts))
        return F.when(clean, empty).otherwise(broken)


def _project(df: DataFrame, fields: Fields, verdicts: _Verdicts, failures: Column, column: str) -> DataFrame:
    """Helper columns first (the payload parsed once, each payload field's value and kind once, then the values
    several rules share: `Fields.shared`), then each rule's verdict, then the failures, then the helpers dropped:
    Spark runs it all in one stage."""
    out = df
    for step in fields.helper_steps():
        out = out.withColumns(step)
    for step in (verdicts.guards, verdicts.columns):
        if step:
            out = out.withColumns(step)
    out = out.withColumn(column, failures)
    helpers = fields.helper_columns() + list(verdicts.guards) + list(verdicts.columns)
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
    verdicts = _Verdicts(fields)
    return _project(df, fields, verdicts, verdicts.failures(rules), column)


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
    verdicts = _Verdicts(fields)
    names = sorted(contracts)
    expr: Column | None = None
    for name in names:
        cond = verdicts.guard(F.col(event_type) == F.lit(name))
        branch = verdicts.failures(contracts[name].row_rules, cond)
        expr = F.when(cond, branch) if expr is None else expr.when(cond, branch)
    # the default contract's rows: an event type none of `contracts` names, or none (a null type)
    others = verdicts.guard(~F.coalesce(F.col(event_type).isin(*names), F.lit(False))) if names else None
    fallback = verdicts.failures(default.row_rules if default else (), others)
    failures = fallback if expr is None else expr.otherwise(fallback)
    return _project(df, fields, verdicts, failures, column)
