"""Time rules: RFC 3339 timestamps (JSON strings with an offset, or typed timestamp columns) and ISO dates.

`now` is the evaluation's clock: `PyRow.now` in Python, `Fields.now` in Spark; the caller supplies it (the
streaming job uses the batch's time, tests a fixed instant). Both engines compare instants in whole
microseconds since the epoch, so a bound is exact.
"""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Self

from pydantic import BeforeValidator, Field, model_validator

from quality.rules import patterns
from quality.rules.base import Params, RuleType, row_rule

FAMILY = "temporal"

# About 10 000 years: `seconds * 1e6` stays far inside a signed 64-bit microsecond count.
MAX_SECONDS = 10_000 * 366 * 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(patterns.RFC3339, re.ASCII)
_ISO_DATE = re.compile(patterns.ISO_DATE, re.ASCII)


def micros(ts: datetime) -> int:
    """Whole microseconds since the epoch (an aware datetime; naive is taken as UTC), like Spark's
    `unix_micros`."""
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def _timestamp(value: object) -> datetime:
    """An RFC 3339 string with an offset (quoted in YAML), or an aware datetime (YAML's unquoted timestamp)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} needs a UTC offset (Z or +hh:mm)")
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp with an offset, like 2026-01-01T00:00:00Z")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{value!r} is not a valid timestamp: {exc}") from None


def _date(value: object) -> date:
    """An ISO date string (yyyy-mm-dd), or a date (YAML's unquoted date)."""
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} is a timestamp: give a date like 2026-01-31")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO date like 2026-01-31")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date: {exc}") from None


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
IsoDate = Annotated[date, BeforeValidator(_date)]
Seconds = Annotated[int, Field(strict=True, ge=0, le=MAX_SECONDS)]


class NotInFuture(Params):
    skew_seconds: Seconds = 300


class NotOlderThan(Params):
    max_age_seconds: Seconds


class TimestampRange(Params):
    start: Timestamp
    end: Timestamp

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must not be after end ({self.end.isoformat()})")
        return self


class DateRange(Params):
    start: IsoDate
    end: IsoDate

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > self.end:
            raise ValueError(f"start ({self.start}) must not be after end ({self.end})")
        return self


RULES: list[RuleType] = [
    row_rule(
        "not_in_future",
        FAMILY,
        "Null, or a timestamp no later than now + skew_seconds (default 300: clocks drift).",
        NotInFuture,
        "{field} must not be in the future (allowed skew: {skew_seconds} s)",
        {"rule": "not_in_future", "field": "payload.paid_at", "params": {"skew_seconds": 300}},
    ),
    row_rule(
        "not_older_than",
        FAMILY,
        "Null, or a timestamp no earlier than now - max_age_seconds.",
        NotOlderThan,
        "{field} must not be older than {max_age_seconds} s",
        {"rule": "not_older_than", "field": "payload.captured_at", "params": {"max_age_seconds": 604800}},
    ),
    row_rule(
        "timestamp_between",
        FAMILY,
        "Null, or a timestamp with start <= value <= end (RFC 3339 bounds with offsets).",
        TimestampRange,
        "{field} must be between {start} and {end}",
        {
            "rule": "timestamp_between",
            "field": "payload.shipped_at",
            "params": {"start": "2020-01-01T00:00:00Z", "end": "2030-12-31T23:59:59.999999Z"},
        },
    ),
    row_rule(
        "date_between",
        FAMILY,
        "Null, or an ISO date (a yyyy-mm-dd string or a date column) with start <= value <= end.",
        DateRange,
        "{field} must be a date between {start} and {end}",
        {
            "rule": "date_between",
            "field": "payload.birth_date",
            "params": {"start": "1900-01-01", "end": "2026-12-31"},
        },
    ),
]
