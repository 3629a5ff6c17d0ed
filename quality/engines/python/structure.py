"""Python implementations of `quality.rules.structure` (all but `sql_expression`, which is Spark SQL)."""

import math
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import reduce
from typing import Any

import orjson

from quality.engines.python.registry import RowTest, python_check
from quality.engines.python.row import getter
from quality.engines.python.values import as_number, as_timestamp, check_array, is_null, kind
from quality.rules.structure import (
    AtLeastOneOf,
    FieldCompare,
    LengthRange,
    MutuallyExclusive,
    RequiredIf,
    SumEquals,
)
from quality.rules.temporal import micros

OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
}


def _matches(value: Any, equals: str | bool | int | float | None) -> bool:
    """The `required_if` condition: `value` is set and, if given, equals `equals` (numbers by value)."""
    if is_null(value):
        return False
    if equals is None:
        return True
    if isinstance(equals, bool):
        return isinstance(value, bool) and value == equals
    if isinstance(equals, int | float):
        number = as_number(value)
        return number is not None and number == float(equals)
    return isinstance(value, str) and value == equals


@python_check("required_if")
def required_if(p: RequiredIf, field: str | None) -> RowTest:
    get, get_when, equals = getter(field), getter(p.when), p.equals
    return lambda row: not _matches(get_when(row), equals) or not is_null(get(row))


@python_check("field_compare")
def field_compare(p: FieldCompare, field: str | None) -> RowTest:
    get_a, get_b, op = getter(field), getter(p.other), OPS[p.op]
    return lambda row: _compare(get_a(row), get_b(row), op)


def _compare(a: Any, b: Any, op: Callable[[Any, Any], bool]) -> bool:
    if is_null(a) or is_null(b):
        return True
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return not (math.isnan(na) or math.isnan(nb)) and op(na, nb)
    ta, tb = as_timestamp(a), as_timestamp(b)
    if ta is not None and tb is not None:
        return op(micros(ta), micros(tb))
    # Code point order: Spark's UTF-8 byte order is the same for valid Unicode (JSON text has no lone
    # surrogates: orjson refuses them).
    return isinstance(a, str) and isinstance(b, str) and op(a, b)


@python_check("sum_equals")
def sum_equals(p: SumEquals, _field: str | None) -> RowTest:
    getters = [getter(path) for path in (*p.fields, p.total)]
    return lambda row: _sums_equal([get(row) for get in getters], p.tolerance)


def _sums_equal(values: list[Any], tolerance: float) -> bool:
    if any(is_null(v) for v in values):
        return True
    numbers = [as_number(v) for v in values]
    if any(n is None or math.isnan(n) for n in numbers):
        return False
    *parts, total = (n for n in numbers if n is not None)
    return abs(reduce(operator.add, parts) - total) <= tolerance  # left to right, like Spark's a + b + c


@python_check("mutually_exclusive")
def mutually_exclusive(p: MutuallyExclusive, _field: str | None) -> RowTest:
    getters = [getter(path) for path in p.fields]
    return lambda row: sum(not is_null(get(row)) for get in getters) <= 1


@python_check("at_least_one_of")
def at_least_one_of(p: AtLeastOneOf, _field: str | None) -> RowTest:
    getters = [getter(path) for path in p.fields]
    return lambda row: any(not is_null(get(row)) for get in getters)


@python_check("array_length_between")
def array_length_between(p: LengthRange, field: str | None) -> RowTest:
    get, lo, hi = getter(field), p.min, p.max
    return lambda row: check_array(get(row), lambda a: lo <= len(a) and (hi is None or len(a) <= hi))


@python_check("array_elements_not_null")
def array_elements_not_null(_p: Any, field: str | None) -> RowTest:
    get = getter(field)
    return lambda row: check_array(get(row), lambda a: all(e is not None for e in a))


def element_key(value: Any) -> str:
    """What `array_unique` compares: a number by its double value, anything else by canonical JSON text."""
    if kind(value) in ("integer", "number"):
        return "n:" + repr(float(value) + 0.0)  # + 0.0: -0.0 becomes 0.0
    return _text(value)


def _text(value: Any) -> str:
    """JSON text with sorted keys, numbers spelled as Spark's VARIANT prints them (1.0 as 1)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        if not math.isfinite(number):
            return '"NaN"' if math.isnan(number) else ('"Infinity"' if number > 0 else '"-Infinity"')
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(orjson.dumps(k).decode() + ":" + _text(v) for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_text(v) for v in value) + "]"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return '"' + aware.astimezone(UTC).isoformat() + '"'
    if isinstance(value, date):
        return '"' + value.isoformat() + '"'
    return repr(value)


@python_check("array_unique")
def array_unique(_p: Any, field: str | None) -> RowTest:
    get = getter(field)
    return lambda row: check_array(get(row), lambda a: len({element_key(e) for e in a}) == len(a))
