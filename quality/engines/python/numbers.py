"""Python implementations of `quality.rules.numbers`: doubles compared like Spark's DOUBLE."""

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from quality.engines.python.registry import RowTest, python_check
from quality.engines.python.row import PyRow, getter
from quality.engines.python.values import as_number, check_number, is_null, kind
from quality.rules.numbers import Bound, MaxDecimals, MultipleOf, OpenRange, Range


def number_test(field: str | None, cond: Callable[[float], bool]) -> RowTest:
    """`check_number` on the field: null passes, a non-number or NaN fails, else `cond` (on a float)."""
    get = getter(field)
    isnan = math.isnan

    def test(row: PyRow) -> bool:
        value = get(row)
        kind_ = type(value)
        if kind_ is float:
            return not isnan(value) and cond(value)
        if kind_ is int:
            return cond(float(value))
        return check_number(value, cond)

    return test


@python_check("between")
def between(p: Range, field: str | None) -> RowTest:
    lo, hi = float(p.min), float(p.max)
    return number_test(field, lambda x: lo <= x <= hi)


@python_check("between_exclusive")
def between_exclusive(p: OpenRange, field: str | None) -> RowTest:
    lo, hi = float(p.min), float(p.max)
    return number_test(field, lambda x: lo < x < hi)


def _compare(cond: Callable[[float, float], bool]) -> Any:
    def compile_(p: Bound, field: str | None) -> RowTest:
        bound = float(p.value)
        return number_test(field, lambda x: cond(x, bound))

    return compile_


python_check("greater_than")(_compare(lambda x, b: x > b))
python_check("greater_or_equal")(_compare(lambda x, b: x >= b))
python_check("less_than")(_compare(lambda x, b: x < b))
python_check("less_or_equal")(_compare(lambda x, b: x <= b))
python_check("equal_to")(_compare(lambda x, b: x == b))
python_check("not_equal_to")(_compare(lambda x, b: x != b))


@python_check("positive")
def positive(_p: Any, field: str | None) -> RowTest:
    return number_test(field, lambda x: x > 0)


@python_check("non_negative")
def non_negative(_p: Any, field: str | None) -> RowTest:
    return number_test(field, lambda x: x >= 0)


@python_check("finite")
def finite(_p: Any, field: str | None) -> RowTest:
    return number_test(field, math.isfinite)


def round_half_up(x: float, places: int) -> float:
    """Spark's `round(x, places)` on a DOUBLE: `BigDecimal.valueOf(x).setScale(places, HALF_UP).doubleValue()`,
    where `valueOf` starts from the shortest decimal spelling of `x` (Python's `repr`)."""
    quantum = Decimal(1).scaleb(-places)
    exact = Context(prec=400 + places)  # enough digits for any double: quantize never rounds to precision
    return float(Decimal(repr(x)).quantize(quantum, rounding=ROUND_HALF_UP, context=exact))


def has_at_most_decimals(x: float, places: int) -> bool:
    """`round_half_up(x, places) == x` for a finite `x`, answered from its shortest spelling when it settles
    the question: a spelling with at most `places` fraction digits (and no exponent) is unchanged by the
    rounding; any other spelling goes through `round_half_up`."""
    text = repr(x)
    dot = text.find(".")
    if dot >= 0 and "e" not in text and len(text) - dot - 1 <= places:
        return True
    return round_half_up(x, places) == x


@python_check("max_decimals")
def max_decimals(p: MaxDecimals, field: str | None) -> RowTest:
    places = p.max
    return number_test(field, lambda x: math.isfinite(x) and has_at_most_decimals(x, places))


@python_check("multiple_of")
def multiple_of(p: MultipleOf, field: str | None) -> RowTest:
    get = getter(field)
    divisor = float(p.value)

    def test(row: PyRow) -> bool:
        value = get(row)
        if is_null(value):
            return True
        number = as_number(value)
        # fmod is exact, like Java's `%` on doubles.
        return kind(value) == "integer" and number is not None and math.fmod(number, divisor) == 0

    return test
