"""How the pure-Python engine reads a record: field paths and JSON kinds, mirroring the Spark engine.

A record is a dict as decoded from JSON (the envelope, with `payload` an object), or a flat dict of typed
values (a table row). `payload.a.b` walks into nested objects; any other path is a top-level key.
"""

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from quality.rules import patterns


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

RFC3339 = re.compile(patterns.RFC3339, re.ASCII)
ISO_DATE = re.compile(patterns.ISO_DATE, re.ASCII)


def full(pattern: str, flags: int = 0) -> "re.Pattern[str]":
    """A shared pattern compiled the way the engines agree on: ASCII classes, matched against the whole value
    with `fullmatch`."""
    return re.compile(pattern, re.ASCII | flags)


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """The value at `path`, or MISSING."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return MISSING
        current = current[part]
    return current


def is_null(value: Any) -> bool:
    return value is None or value is MISSING


def kind(value: Any) -> str:
    """The JSON kind: null, boolean, integer, number, string, array, object, timestamp, date."""
    if is_null(value):
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, date):
        return "date"
    return "unknown"


def as_number(value: Any) -> float | None:
    """A float for an integer or number, else None."""
    return float(value) if kind(value) in ("integer", "number") else None


def as_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime for a datetime or an RFC 3339 string (1 to 6 fraction digits), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and RFC3339.fullmatch(value):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except (ValueError, OverflowError):
            return None
    return None


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


Check = Callable[[Any], bool]


def check_number(value: Any, cond: Callable[[float], bool]) -> bool:
    """null passes; a non-number or NaN fails; else `cond`."""
    if is_null(value):
        return True
    number = as_number(value)
    if number is None or math.isnan(number):
        return False
    return cond(number)


def check_string(value: Any, cond: Callable[[str], bool]) -> bool:
    if is_null(value):
        return True
    return isinstance(value, str) and cond(value)


def check_timestamp(value: Any, cond: Callable[[datetime], bool]) -> bool:
    if is_null(value):
        return True
    ts = as_timestamp(value)
    return ts is not None and cond(ts)


def check_array(value: Any, cond: Callable[[list[Any]], bool]) -> bool:
    if is_null(value):
        return True
    return kind(value) == "array" and cond(list(value))
