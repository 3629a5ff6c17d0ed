"""Spark implementations of `quality.rules.structure`.

Array elements are compared as VARIANTs: `to_variant_object` turns a typed array (of numbers, strings,
structs…) and a payload's ARRAY<VARIANT> alike into one VARIANT array, so one expression serves both.
"""

import operator
from collections.abc import Callable, Mapping
from functools import reduce
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from quality.engines.spark.registry import spark_check
from quality.engines.spark.values import Field, Fields, check_array
from quality.rules.structure import (
    AtLeastOneOf,
    FieldCompare,
    LengthRange,
    MutuallyExclusive,
    RequiredIf,
    SqlExpression,
    SumEquals,
)

OPS: Mapping[str, Callable[[Column, Column], Column]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
}
NUMBER_SCHEMAS = ("TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE")


def _is_number(f: Field) -> Column:
    return f.is_kind("integer", "number")


def _matches(f: Field, equals: str | bool | int | float | None) -> Column:
    if equals is None:
        return ~f.is_null
    if isinstance(equals, bool):
        return (f.is_kind("boolean")) & (f.boolean == F.lit(equals))
    if isinstance(equals, int | float):
        return _is_number(f) & (f.number == F.lit(float(equals)))
    return (f.is_kind("string")) & (f.string == F.lit(equals))


@spark_check("required_if")
def required_if(p: RequiredIf, fields: Fields, field: str | None) -> Column:
    condition = F.coalesce(_matches(fields(p.when), p.equals), F.lit(False))
    return ~condition | ~fields(field).is_null


@spark_check("field_compare")
def field_compare(p: FieldCompare, fields: Fields, field: str | None) -> Column:
    a, b = fields(field), fields(p.other)
    op = OPS[p.op]
    ta, tb = a.timestamp, b.timestamp
    return (
        F.when(a.is_null | b.is_null, True)
        .when(_is_number(a) & _is_number(b), ~F.isnan(a.number) & ~F.isnan(b.number) & op(a.number, b.number))
        .when(ta.isNotNull() & tb.isNotNull(), op(F.unix_micros(ta), F.unix_micros(tb)))
        .when((a.is_kind("string")) & (b.is_kind("string")), op(a.string, b.string))  # UTF-8 byte order
        .otherwise(False)
    )


@spark_check("sum_equals")
def sum_equals(p: SumEquals, fields: Fields, _field: str | None) -> Column:
    parts = [fields(path) for path in p.fields]
    total = fields(p.total)
    every = [*parts, total]
    any_null = reduce(operator.or_, [f.is_null for f in every])
    all_numbers = reduce(operator.and_, [_is_number(f) & ~F.isnan(f.number) for f in every])
    added = reduce(operator.add, [f.number for f in parts])  # left to right, like the Python engine
    within = F.abs(added - total.number) <= F.lit(float(p.tolerance))
    return F.when(any_null, True).when(all_numbers, within).otherwise(False)


def _set_count(fields: Fields, paths: tuple[str, ...]) -> Column:
    return reduce(operator.add, [F.when(fields(path).is_null, 0).otherwise(1) for path in paths])


@spark_check("mutually_exclusive")
def mutually_exclusive(p: MutuallyExclusive, fields: Fields, _field: str | None) -> Column:
    return _set_count(fields, p.fields) <= 1


@spark_check("at_least_one_of")
def at_least_one_of(p: AtLeastOneOf, fields: Fields, _field: str | None) -> Column:
    return _set_count(fields, p.fields) >= 1


@spark_check("array_length_between")
def array_length_between(p: LengthRange, fields: Fields, field: str | None) -> Column:
    def within(array: Column) -> Column:
        size = F.size(array)
        return (size >= p.min) if p.max is None else size.between(p.min, p.max)

    return check_array(fields(field), within)


def _variants(array: Column) -> Column:
    """ARRAY<VARIANT> for a payload array or any typed array; a null element becomes a VARIANT null."""
    return F.try_variant_get(F.to_variant_object(array), "$", "array<variant>")


def _is_null_element(e: Column) -> Column:
    return e.isNull() | F.is_variant_null(e)


@spark_check("array_elements_not_null")
def array_elements_not_null(_p: Any, fields: Fields, field: str | None) -> Column:
    return check_array(fields(field), lambda array: ~F.exists(_variants(array), _is_null_element))


def _element_key(e: Column) -> Column:
    """A number by its double value (+ 0.0 turns -0.0 into 0.0), anything else by its JSON text (VARIANT
    objects keep their keys sorted)."""
    schema = F.schema_of_variant(e)
    is_number = schema.isin(*NUMBER_SCHEMAS) | schema.startswith("DECIMAL")
    number = (F.try_variant_get(e, "$", "double") + F.lit(0.0)).cast("string")
    return F.when(is_number, F.concat(F.lit("n:"), number)).otherwise(F.to_json(e))


@spark_check("array_unique")
def array_unique(_p: Any, fields: Fields, field: str | None) -> Column:
    def unique(array: Column) -> Column:
        keys = F.transform(_variants(array), _element_key)
        return F.size(F.array_distinct(keys)) == F.size(keys)

    return check_array(fields(field), unique)


@spark_check("sql_expression")
def sql_expression(p: SqlExpression, _fields: Fields, _field: str | None) -> Column:
    """`expr` as written, over the DataFrame's columns (the envelope; `payload` is JSON text: read a field with
    `try_variant_get(try_parse_json(payload), '$.amount', 'double')`). It must be boolean: Spark refuses
    a number when the projection is built, and casts a string (failing the job on text like 'abc')."""
    return F.expr(p.expr)
