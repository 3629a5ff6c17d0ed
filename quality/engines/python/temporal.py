"""Python implementations of `quality.rules.temporal`: instants compared in whole microseconds."""

from collections.abc import Callable
from datetime import date

from quality.engines.python.registry import python_check
from quality.engines.python.row import PyRow
from quality.engines.python.values import as_date, check_timestamp, is_null
from quality.rules.temporal import DateRange, NotInFuture, NotOlderThan, TimestampRange, micros

SECOND = 1_000_000  # microseconds


@python_check("not_in_future")
def not_in_future(p: NotInFuture, row: PyRow, field: str | None) -> bool:
    latest = micros(row.now) + p.skew_seconds * SECOND
    return check_timestamp(row.get(field), lambda ts: micros(ts) <= latest)


@python_check("not_older_than")
def not_older_than(p: NotOlderThan, row: PyRow, field: str | None) -> bool:
    earliest = micros(row.now) - p.max_age_seconds * SECOND
    return check_timestamp(row.get(field), lambda ts: micros(ts) >= earliest)


@python_check("timestamp_between")
def timestamp_between(p: TimestampRange, row: PyRow, field: str | None) -> bool:
    start, end = micros(p.start), micros(p.end)
    return check_timestamp(row.get(field), lambda ts: start <= micros(ts) <= end)


def check_date(value: object, cond: Callable[[date], bool]) -> bool:
    """null passes; anything but an ISO date string or a date fails; else `cond`."""
    if is_null(value):
        return True
    day = as_date(value)
    return day is not None and cond(day)


@python_check("date_between")
def date_between(p: DateRange, row: PyRow, field: str | None) -> bool:
    return check_date(row.get(field), lambda day: p.start <= day <= p.end)
