"""Python implementations of `quality.rules.sets`."""

import math
from typing import Any

from quality.engines.python.registry import RowTest, python_check
from quality.engines.python.row import getter
from quality.engines.python.strings import string_test
from quality.engines.python.values import check_array, is_null, kind
from quality.rules import sets as rules


def _member(p: rules.SetParams, value: Any) -> bool:
    """Whether a non-null `value` equals one of the values, kind by kind."""
    k = kind(value)
    if k == "string":
        return (value if p.case_sensitive else value.lower()) in p.strings
    if k in ("integer", "number"):
        number = float(value)
        return not math.isnan(number) and number + 0.0 in p.numbers
    if k == "boolean":
        return bool(value) in p.booleans
    return False


@python_check("in_set")
def in_set(p: rules.SetParams, field: str | None) -> RowTest:
    get = getter(field)
    return lambda row: is_null(value := get(row)) or _member(p, value)


@python_check("not_in_set")
def not_in_set(p: rules.SetParams, field: str | None) -> RowTest:
    get = getter(field)
    return lambda row: is_null(value := get(row)) or not _member(p, value)


@python_check("in_reference")
def in_reference(p: rules.ReferenceParams, field: str | None) -> RowTest:
    strings = p.strings
    if p.case_sensitive:
        return string_test(field, strings.__contains__)
    return string_test(field, lambda s: s.lower() in strings)


@python_check("array_elements_in_set")
def array_elements_in_set(p: rules.StringSetParams, field: str | None) -> RowTest:
    get = getter(field)
    strings, case_sensitive = p.strings, p.case_sensitive

    def element_ok(e: Any) -> bool:
        return isinstance(e, str) and (e if case_sensitive else e.lower()) in strings

    return lambda row: check_array(get(row), lambda items: all(element_ok(e) for e in items))
