"""Python implementations of `quality.rules.nulls`."""

from typing import Any

from quality.engines.python.registry import RowTest, python_check
from quality.engines.python.row import PyRow, getter
from quality.engines.python.values import MISSING, as_timestamp, is_null, kind

# The JSON kind of the exact types a decoded JSON record holds (anything else goes through `kind`).
FAST_KINDS: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


@python_check("not_null")
def not_null(_p: Any, field: str | None) -> RowTest:
    get = getter(field)

    def test(row: PyRow) -> bool:
        value = get(row)
        return value is not None and value is not MISSING

    return test


@python_check("is_null")
def is_null_(_p: Any, field: str | None) -> RowTest:
    get = getter(field)
    return lambda row: is_null(get(row))


@python_check("not_empty")
def not_empty(_p: Any, field: str | None) -> RowTest:
    get = getter(field)

    def test(row: PyRow) -> bool:
        value = get(row)
        if is_null(value):
            return False
        if kind(value) in ("string", "array", "object"):
            return len(value) > 0
        return True

    return test


@python_check("not_blank")
def not_blank(_p: Any, field: str | None) -> RowTest:
    get = getter(field)

    # Whitespace as Java's `\s` sees it (ASCII), so both engines agree.
    def test(row: PyRow) -> bool:
        value = get(row)
        return isinstance(value, str) and value.strip(" \t\n\x0b\f\r") != ""

    return test


def _kind_is(*kinds: str) -> Any:
    allowed = frozenset(kinds)

    def compile_(_p: Any, field: str | None) -> RowTest:
        get = getter(field)

        def test(row: PyRow) -> bool:
            value = get(row)
            if value is None or value is MISSING:
                return True
            fast = FAST_KINDS.get(type(value))
            return (fast if fast is not None else kind(value)) in allowed

        return test

    return compile_


python_check("is_string")(_kind_is("string"))
python_check("is_integer")(_kind_is("integer"))
python_check("is_number")(_kind_is("integer", "number"))
python_check("is_boolean")(_kind_is("boolean"))
python_check("is_array")(_kind_is("array"))
python_check("is_object")(_kind_is("object"))


@python_check("is_timestamp")
def is_timestamp(_p: Any, field: str | None) -> RowTest:
    get = getter(field)

    def test(row: PyRow) -> bool:
        value = get(row)
        return is_null(value) or as_timestamp(value) is not None

    return test
