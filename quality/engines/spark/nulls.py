"""Spark implementations of `quality.rules.nulls`."""

from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from quality.engines.spark.registry import spark_check
from quality.engines.spark.strings import trim_whitespace
from quality.engines.spark.values import Fields


@spark_check("not_null")
def not_null(_p: Any, fields: Fields, field: str | None) -> Column:
    return ~fields(field).is_null


@spark_check("is_null")
def is_null(_p: Any, fields: Fields, field: str | None) -> Column:
    return fields(field).is_null


@spark_check("not_empty")
def not_empty(_p: Any, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return (
        F.when(f.is_null, False)
        .when(f.is_kind("string"), F.length(f.string) > 0)
        .when(f.is_kind("array"), F.size(f.array) > 0)
        .when(f.is_kind("object"), ~f.object_empty)
        .otherwise(True)
    )


@spark_check("not_blank")
def not_blank(_p: Any, fields: Fields, field: str | None) -> Column:
    """A string with a character other than Java's `\\s` whitespace: not empty once trimmed (no regex)."""
    f = fields(field)
    return F.when(f.is_kind("string"), F.octet_length(trim_whitespace(f.string)) > 0).otherwise(False)


def _kind_is(*kinds: str) -> Any:
    def check(_p: Any, fields: Fields, field: str | None) -> Column:
        f = fields(field)
        return f.is_null | f.is_kind(*kinds)

    return check


spark_check("is_string")(_kind_is("string"))
spark_check("is_integer")(_kind_is("integer"))
spark_check("is_number")(_kind_is("integer", "number"))
spark_check("is_boolean")(_kind_is("boolean"))
spark_check("is_array")(_kind_is("array"))
spark_check("is_object")(_kind_is("object"))


@spark_check("is_timestamp")
def is_timestamp(_p: Any, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return f.is_null | f.timestamp.isNotNull()
