"""Python implementations of `quality.rules.numbers`: doubles compared like Spark's DOUBLE."""

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from quality.engines.python.registry import python_check
from quality.engines.python.row import PyRow
from quality.engines.python.values import as_number, check_number, is_null, kind
from quality.rules.numbers import Bound, MaxDecimals, MultipleOf, OpenRange, Range


@python_check("between")
def between(p: Range, row: PyRow, field: str | None) -> bool:
    lo, hi = float(p.min), float(p.max)
    return check_number(row.get(field), lambda x: lo <= x <= hi)


@python_check("between_exclusive")
def between_exclusive(p: OpenRange, row: PyRow, field: str | None) -> bool:
    lo, hi = float(p.min), float(p.max)
    return check_number(row.get(field), lambda x: lo < x < hi)


def _compare(cond: Callable[[float, float], bool]) -> Any:
    def check(p: Bound, row: PyRow, field: str | None) -> bool:
        bound = float(p.value)
        return check_number(row.get(field), lambda x: cond(x, bound))

    return check


python_check("greater_than")(_compare(lambda x, b: x > b))
python_check("greater_or_equal")(_compare(lambda x, b: x >= b))
python_check("less_than")(_compare(lambda x, b: x < b))
python_check("less_or_equal")(_compare(lambda x, b: x <= b))
python_check("equal_to")(_compare(lambda x, b: x == b))
python_check("not_equal_to")(_compare(lambda x, b: x != b))


@python_check("positive")
def positive(_p: Any, row: PyRow, field: str | None) -> bool:
    return check_number(row.get(field), lambda x: x > 0)


@python_check("non_negative")
def non_negative(_p: Any, row: PyRow, field: str | None) -> bool:
    return check_number(row.get(field), lambda x: x >= 0)


@python_check("finite")
def finite(_p: Any, row: PyRow, field: str | None) -> bool:
    return check_number(row.get(field), math.isfinite)


def round_half_up(x: float, places: int) -> float:
    """Spark's `round(x, places)` on a DOUBLE: `BigDecimal.valueOf(x).setScale(places, HALF_UP).doubleValue()`,
    where `valueOf` starts from the shortest decimal spelling of `x` (Python's `repr`)."""
    quantum = Decimal(1).scaleb(-places)
    exact = Context(prec=400 + places)  # enough digits for any double: quantize never rounds to precision
    return float(Decimal(repr(x)).quantize(quantum, rounding=ROUND_HALF_UP, context=exact))


@python_check("max_decimals")
def max_decimals(p: MaxDecimals, row: PyRow, field: str | None) -> bool:
    return check_number(row.get(field), lambda x: math.isfinite(x) and round_half_up(x, p.max) == x)


@python_check("multiple_of")
def multiple_of(p: MultipleOf, row: PyRow, field: str | None) -> bool:
    value = row.get(field)
    if is_null(value):
        return True
    number = as_number(value)
    # fmod is exact, like Java's `%` on doubles.
    return kind(value) == "integer" and number is not None and math.fmod(number, float(p.value)) == 0
