"""Spark implementations of `quality.rules.temporal`: instants compared in whole microseconds
(`unix_micros`), dates as DATE."""

from pyspark.sql import Column
from pyspark.sql import functions as F

from quality.engines.spark.registry import spark_check
from quality.engines.spark.values import Cond, Field, Fields, check_timestamp
from quality.rules.temporal import DateRange, NotInFuture, NotOlderThan, TimestampRange, micros

SECOND = 1_000_000  # microseconds


@spark_check("not_in_future")
def not_in_future(p: NotInFuture, fields: Fields, field: str | None) -> Column:
    latest = F.unix_micros(fields.now) + F.lit(p.skew_seconds * SECOND)
    return check_timestamp(fields(field), lambda ts: F.unix_micros(ts) <= latest)


@spark_check("not_older_than")
def not_older_than(p: NotOlderThan, fields: Fields, field: str | None) -> Column:
    earliest = F.unix_micros(fields.now) - F.lit(p.max_age_seconds * SECOND)
    return check_timestamp(fields(field), lambda ts: F.unix_micros(ts) >= earliest)


@spark_check("timestamp_between")
def timestamp_between(p: TimestampRange, fields: Fields, field: str | None) -> Column:
    start, end = F.lit(micros(p.start)), F.lit(micros(p.end))
    return check_timestamp(fields(field), lambda ts: F.unix_micros(ts).between(start, end))


def check_date(fields: Fields, f: Field, cond: Cond) -> Column:
    """null passes; anything but an ISO date string or a DATE fails; else `cond`."""
    day = f.date
    return F.when(f.is_null, True).when(day.isNotNull(), cond(day)).otherwise(False)


@spark_check("date_between")
def date_between(p: DateRange, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return check_date(fields, f, lambda day: day.between(F.lit(p.start), F.lit(p.end)))
