"""Python implementations of `quality.rules.temporal`: instants compared in whole microseconds."""

from collections.abc import Callable
from datetime import UTC, date, datetime

from quality.engines.python.registry import RowTest, python_check
from quality.engines.python.row import PyRow, getter
from quality.engines.python.values import as_date, check_timestamp, is_null
from quality.rules.temporal import DateRange, NotInFuture, NotOlderThan, TimestampRange, micros

SECOND = 1_000_000  # microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fast_micros(ts: datetime) -> int:
    """`micros(ts)` (whole microseconds since the epoch), without dividing timedeltas."""
    delta = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def _relative_to_now(offset: int) -> Callable[[PyRow], int]:
    """`row -> micros(row.now) + offset`, computed once per distinct `now` (rows of one batch share it)."""
    last: list[tuple[datetime | None, int]] = [(None, 0)]

    def bound(row: PyRow) -> int:
        now, value = last[0]
        if now is not row.now:
            now, value = row.now, fast_micros(row.now) + offset
            last[0] = (now, value)  # one atomic store: threads never see a mismatched pair
        return value

    return bound


@python_check("not_in_future")
def not_in_future(p: NotInFuture, field: str | None) -> RowTest:
    get = getter(field)
    latest = _relative_to_now(p.skew_seconds * SECOND)

    def test(row: PyRow) -> bool:
        limit = latest(row)
        return check_timestamp(get(row), lambda ts: fast_micros(ts) <= limit)

    return test


@python_check("not_older_than")
def not_older_than(p: NotOlderThan, field: str | None) -> RowTest:
    get = getter(field)
    earliest = _relative_to_now(-p.max_age_seconds * SECOND)

    def test(row: PyRow) -> bool:
        limit = earliest(row)
        return check_timestamp(get(row), lambda ts: fast_micros(ts) >= limit)

    return test


@python_check("timestamp_between")
def timestamp_between(p: TimestampRange, field: str | None) -> RowTest:
    get = getter(field)
    start, end = micros(p.start), micros(p.end)
    return lambda row: check_timestamp(get(row), lambda ts: start <= fast_micros(ts) <= end)


def check_date(value: object, cond: Callable[[date], bool]) -> bool:
    """null passes; anything but an ISO date string or a date fails; else `cond`."""
    if is_null(value):
        return True
    day = as_date(value)
    return day is not None and cond(day)


@python_check("date_between")
def date_between(p: DateRange, field: str | None) -> RowTest:
    get = getter(field)
    start, end = p.start, p.end
    return lambda row: check_date(get(row), lambda day: start <= day <= end)
