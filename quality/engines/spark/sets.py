"""Spark implementations of `quality.rules.sets`. Large sets become a hash lookup (Spark's InSet)."""

from collections.abc import Iterable
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from quality.engines.spark.registry import spark_check
from quality.engines.spark.values import Field, Fields, check_array, check_string
from quality.rules import sets as rules


def _isin(col: Column, values: Iterable[Any]) -> Column:
    """`col` is one of `values` (never null: false for a null `col` or no values)."""
    items = sorted(values)
    return F.coalesce(col.isin(*items), F.lit(False)) if items else F.lit(False)


def _fold(col: Column, case_sensitive: bool) -> Column:
    return col if case_sensitive else F.lower(col)


def _member(p: rules.SetParams, f: Field) -> Column:
    """Whether a non-null field equals one of the values, kind by kind (never null)."""
    return (
        F.when(f.is_kind("string"), _isin(_fold(f.string, p.case_sensitive), p.strings))
        .when(f.is_kind("integer", "number"), ~F.isnan(f.number) & _isin(f.number + 0.0, p.numbers))
        .when(f.is_kind("boolean"), _isin(f.boolean, p.booleans))
        .otherwise(False)
    )


@spark_check("in_set")
def in_set(p: rules.SetParams, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return f.is_null | _member(p, f)


@spark_check("not_in_set")
def not_in_set(p: rules.SetParams, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return f.is_null | ~_member(p, f)


@spark_check("in_reference")
def in_reference(p: rules.ReferenceParams, fields: Fields, field: str | None) -> Column:
    return check_string(fields(field), lambda s: _isin(_fold(s, p.case_sensitive), p.strings))


@spark_check("array_elements_in_set")
def array_elements_in_set(p: rules.StringSetParams, fields: Fields, field: str | None) -> Column:
    def element_ok(e: Column) -> Column:
        # Payload arrays hold VARIANTs; a typed array<string> column is cast to VARIANT to read it alike.
        v = e.cast("variant")
        text = F.try_variant_get(v, "$", "string")
        return F.coalesce(F.schema_of_variant(v) == "STRING", F.lit(False)) & _isin(
            _fold(text, p.case_sensitive), p.strings
        )

    return check_array(fields(field), lambda arr: F.forall(arr, element_ok))
