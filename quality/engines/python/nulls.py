"""Python implementations of `quality.rules.nulls`."""

from typing import Any

from quality.engines.python.registry import python_check
from quality.engines.python.row import PyRow
from quality.engines.python.values import as_timestamp, is_null, kind


@python_check("not_null")
def not_null(_p: Any, row: PyRow, field: str | None) -> bool:
    return not is_null(row.get(field))


@python_check("is_null")
def is_null_(_p: Any, row: PyRow, field: str | None) -> bool:
    return is_null(row.get(field))


@python_check("not_empty")
def not_empty(_p: Any, row: PyRow, field: str | None) -> bool:
    value = row.get(field)
    if is_null(value):
        return False
    if kind(value) in ("string", "array", "object"):
        return len(value) > 0
    return True


@python_check("not_blank")
def not_blank(_p: Any, row: PyRow, field: str | None) -> bool:
    value = row.get(field)
    # Whitespace as Java's `\s` sees it (ASCII), so both engines agree.
    return isinstance(value, str) and value.strip(" \t\n\x0b\f\r") != ""


def _kind_is(*kinds: str) -> Any:
    def check(_p: Any, row: PyRow, field: str | None) -> bool:
        value = row.get(field)
        return is_null(value) or kind(value) in kinds

    return check


python_check("is_string")(_kind_is("string"))
python_check("is_integer")(_kind_is("integer"))
python_check("is_number")(_kind_is("integer", "number"))
python_check("is_boolean")(_kind_is("boolean"))
python_check("is_array")(_kind_is("array"))
python_check("is_object")(_kind_is("object"))


@python_check("is_timestamp")
def is_timestamp(_p: Any, row: PyRow, field: str | None) -> bool:
    value = row.get(field)
    return is_null(value) or as_timestamp(value) is not None
