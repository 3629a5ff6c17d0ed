"""Python implementations of `quality.rules.sets`."""

import math
from typing import Any

from quality.engines.python.registry import python_check
from quality.engines.python.row import PyRow
from quality.engines.python.values import check_array, check_string, is_null, kind
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
def in_set(p: rules.SetParams, row: PyRow, field: str | None) -> bool:
    value = row.get(field)
    return is_null(value) or _member(p, value)


@python_check("not_in_set")
def not_in_set(p: rules.SetParams, row: PyRow, field: str | None) -> bool:
    value = row.get(field)
    return is_null(value) or not _member(p, value)


@python_check("in_reference")
def in_reference(p: rules.ReferenceParams, row: PyRow, field: str | None) -> bool:
    return check_string(row.get(field), lambda s: (s if p.case_sensitive else s.lower()) in p.strings)


@python_check("array_elements_in_set")
def array_elements_in_set(p: rules.StringSetParams, row: PyRow, field: str | None) -> bool:
    def element_ok(e: Any) -> bool:
        return isinstance(e, str) and (e if p.case_sensitive else e.lower()) in p.strings

    return check_array(row.get(field), lambda items: all(element_ok(e) for e in items))
