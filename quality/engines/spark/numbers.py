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


# Below this many decimals, `max_decimals` has a fast path in plain double arithmetic (10**n is exact up to 22).
_FAST_DECIMALS = 15


def _at_most_decimals(x: Column, n: int) -> Column:
    """`round(x, n) == x` for a finite DOUBLE. Spark's `round` is `BigDecimal.valueOf(x).setScale(n, HALF_UP)`
    (a `Double.toString` and two BigDecimals per row: the Python engine mirrors it). Where |x| * 10**n < 2**51,
    the same verdict is `rint(x * 10**n) / 10**n == x`: x round-trips through n decimals exactly when it is the
    double nearest to k / 10**n for the k nearest to x * 10**n (that product's rounding error is far below 1/2
    there, and the division is correctly rounded); elsewhere the BigDecimal `round` decides."""
    exact = F.round(x, n) == x
    if n > _FAST_DECIMALS:
        return exact
    scale = _lit(10.0**n)
    fast = (F.rint(x * scale) / scale) == x
    return F.when(F.abs(x) < _lit(2.0**51 / 10.0**n), fast).otherwise(exact)


@spark_check("max_decimals")
def max_decimals(p: MaxDecimals, fields: Fields, field: str | None) -> Column:
    return check_number(fields(field), lambda x: _finite(x) & _at_most_decimals(x, p.max))


@spark_check("multiple_of")
def multiple_of(p: MultipleOf, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    # `%` on doubles is Java's exact remainder, like Python's math.fmod.
    return F.when(f.is_null, True).when(f.is_kind("integer"), (f.number % _lit(p.value)) == 0).otherwise(False)
