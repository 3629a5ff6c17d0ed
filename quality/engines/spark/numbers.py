"""Spark implementations of `quality.rules.numbers`: comparisons on the field's DOUBLE (`Field.number`)."""

from collections.abc import Callable
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from quality.engines.spark.registry import spark_check
from quality.engines.spark.values import Fields, check_number
from quality.rules.numbers import Bound, MaxDecimals, MultipleOf, OpenRange, Range

INF = float("inf")


def _lit(value: float) -> Column:
    """A DOUBLE literal: params compare as doubles in both engines, whatever their JSON spelling."""
    return F.lit(float(value))


@spark_check("between")
def between(p: Range, fields: Fields, field: str | None) -> Column:
    return check_number(fields(field), lambda x: (x >= _lit(p.min)) & (x <= _lit(p.max)))


@spark_check("between_exclusive")
def between_exclusive(p: OpenRange, fields: Fields, field: str | None) -> Column:
    return check_number(fields(field), lambda x: (x > _lit(p.min)) & (x < _lit(p.max)))


def _compare(cond: Callable[[Column, Column], Column]) -> Any:
    def check(p: Bound, fields: Fields, field: str | None) -> Column:
        return check_number(fields(field), lambda x: cond(x, _lit(p.value)))

    return check


spark_check("greater_than")(_compare(lambda x, b: x > b))
spark_check("greater_or_equal")(_compare(lambda x, b: x >= b))
spark_check("less_than")(_compare(lambda x, b: x < b))
spark_check("less_or_equal")(_compare(lambda x, b: x <= b))
spark_check("equal_to")(_compare(lambda x, b: x == b))
spark_check("not_equal_to")(_compare(lambda x, b: x != b))


@spark_check("positive")
def positive(_p: Any, fields: Fields, field: str | None) -> Column:
    return check_number(fields(field), lambda x: x > 0)


@spark_check("non_negative")
def non_negative(_p: Any, fields: Fields, field: str | None) -> Column:
    return check_number(fields(field), lambda x: x >= 0)


def _finite(x: Column) -> Column:
    return F.abs(x) != _lit(INF)


@spark_check("finite")
def finite(_p: Any, fields: Fields, field: str | None) -> Column:
    return check_number(fields(field), _finite)


@spark_check("max_decimals")
def max_decimals(p: MaxDecimals, fields: Fields, field: str | None) -> Column:
    # `round` on a DOUBLE is BigDecimal.valueOf(x).setScale(max, HALF_UP): the Python engine mirrors it.
    return check_number(fields(field), lambda x: _finite(x) & (F.round(x, p.max) == x))


@spark_check("multiple_of")
def multiple_of(p: MultipleOf, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    # `%` on doubles is Java's exact remainder, like Python's math.fmod.
    return F.when(f.is_null, True).when(f.is_kind("integer"), (f.number % _lit(p.value)) == 0).otherwise(False)
