"""What a Python row test sees: the record and the evaluation's `now`; and compiled field getters."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from quality.engines.python.values import MISSING, lookup

Getter = Callable[[Mapping[str, Any]], Any]


class PyRow:
    """One record under evaluation (one object per evaluation, shared by every rule)."""

    __slots__ = ("now", "record")

    def __init__(self, record: Mapping[str, Any], now: datetime | None = None) -> None:
        self.record = record
        self.now = now if now is not None else datetime.now(UTC)

    def get(self, path: str | None) -> Any:
        if path is None:
            raise ValueError("this rule needs a field")
        return lookup(self.record, path)


def getter(path: str | None) -> Callable[[PyRow], Any]:
    """`row -> the value at path, or MISSING`, with the path split once (same answers as `lookup`)."""
    if path is None:
        raise ValueError("this rule needs a field")
    parts = tuple(path.split("."))
    if len(parts) == 1:
        (only,) = parts

        def get1(row: PyRow) -> Any:
            record = row.record
            if type(record) is dict:
                return record.get(only, MISSING)
            return lookup(record, path)

        return get1
    if len(parts) == 2:
        first, second = parts

        def get2(row: PyRow) -> Any:
            record = row.record
            if type(record) is dict:
                inner = record.get(first, MISSING)
                if type(inner) is dict:
                    return inner.get(second, MISSING)
            return lookup(record, path)

        return get2
    return lambda row: lookup(row.record, path)
