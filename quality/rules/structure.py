"""Rules across fields and over arrays, and custom Spark SQL.

Multi-field rules name their other fields in params (`other: payload.subtotal`); each path resolves like a
rule's `field` (`payload.<name>` in the JSON payload, any other path a typed column).

`array_unique` counts two elements as equal when they are the same JSON value: numbers by value as doubles
(1 == 1.0 == 1.00; -0.0 == 0.0; NaN == NaN in a typed double array); strings, booleans and null by value
(two nulls are duplicates); arrays and objects by their JSON text with keys sorted, numbers inside them as
Spark's VARIANT stores them (1.0 and 1.00 == 1, but Spark keeps an exponent-spelled 1e0 apart from 1).
"""

import math
import re
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from quality.rules.base import NoParams, Params, RuleType, row_rule
from quality.rules.numbers import Number

FAMILY = "structure"

# The same shape as a rule's `field` (quality.contract.FIELD_PATH; not imported: contract imports the catalog).
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _path(value: str) -> str:
    if not _PATH.fullmatch(value):
        raise ValueError(f"{value!r} is not a field path like `payload.amount` or `occurred_at`")
    return value


def _scalar(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):  # NaN equals nothing
        raise ValueError("equals must not be NaN")
    return value


FieldPath = Annotated[StrictStr, AfterValidator(_path)]


def _distinct(paths: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(paths)) != len(paths):
        raise ValueError(f"fields must be distinct, got {list(paths)}")
    return paths


class RequiredIf(Params):
    when: FieldPath
    # Absent: "when `when` is not null". Numbers match numerically (1 == 1.0); a bool only matches a bool.
    equals: Annotated[StrictBool | StrictInt | StrictFloat | StrictStr | None, BeforeValidator(_scalar)] = None


class FieldCompare(Params):
    op: Literal["lt", "le", "gt", "ge", "eq", "ne"]
    other: FieldPath


class SumEquals(Params):
    fields: Annotated[tuple[FieldPath, ...], Field(min_length=2)]
    total: FieldPath
    tolerance: Annotated[Number, Field(ge=0)] = 1e-9


class MutuallyExclusive(Params):
    fields: Annotated[tuple[FieldPath, ...], Field(min_length=2), AfterValidator(_distinct)]


class AtLeastOneOf(Params):
    fields: Annotated[tuple[FieldPath, ...], Field(min_length=1), AfterValidator(_distinct)]


class LengthRange(Params):
    min: int = Field(default=0, strict=True, ge=0)
    max: int | None = Field(default=None, strict=True, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be greater than max ({self.max})")
        return self


class SqlExpression(Params):
    expr: StrictStr

    @model_validator(mode="after")
    def _not_blank(self) -> Self:
        if not self.expr.strip():
            raise ValueError("expr must be a Spark SQL boolean expression, not empty")
        return self


RULES: list[RuleType] = [
    row_rule(
        "required_if",
        FAMILY,
        "The field is not null when `when` is not null (or, with `equals`, when `when` equals it).",
        RequiredIf,
        "{field} is required when {when} = {equals} (None: whenever {when} is set)",
        {
            "rule": "required_if",
            "field": "payload.tracking_number",
            "params": {"when": "payload.status", "equals": "shipped"},
        },
    ),
    row_rule(
        "field_compare",
        FAMILY,
        "field <op> other, for two numbers, two timestamps or two strings (code point order); a null passes, "
        "other kinds fail.",
        FieldCompare,
        "expected {field} {op} {other} (lt, le, gt, ge, eq, ne: <, <=, >, >=, =, !=)",
        {"rule": "field_compare", "field": "payload.discount", "params": {"op": "le", "other": "payload.subtotal"}},
    ),
    row_rule(
        "sum_equals",
        FAMILY,
        "The numbers in `fields` add up to `total` within `tolerance`; a null passes, a non-number fails.",
        SumEquals,
        "{fields} must add up to {total} (tolerance {tolerance})",
        {
            "rule": "sum_equals",
            "params": {"fields": ["payload.subtotal", "payload.tax", "payload.shipping"], "total": "payload.amount"},
        },
        needs_field=False,
    ),
    row_rule(
        "mutually_exclusive",
        FAMILY,
        "At most one of `fields` is not null.",
        MutuallyExclusive,
        "at most one of {fields} may be set",
        {"rule": "mutually_exclusive", "params": {"fields": ["payload.coupon_code", "payload.gift_card_id"]}},
        needs_field=False,
    ),
    row_rule(
        "at_least_one_of",
        FAMILY,
        "At least one of `fields` is not null.",
        AtLeastOneOf,
        "at least one of {fields} is required",
        {"rule": "at_least_one_of", "params": {"fields": ["payload.customer_email", "payload.customer_phone"]}},
        needs_field=False,
    ),
    row_rule(
        "array_length_between",
        FAMILY,
        "Null, or an array with min <= length <= max (no max: unbounded).",
        LengthRange,
        "{field} must have between {min} and {max} elements",
        {"rule": "array_length_between", "field": "payload.items", "params": {"min": 1, "max": 100}},
    ),
    row_rule(
        "array_elements_not_null",
        FAMILY,
        "Null, or an array without null elements.",
        NoParams,
        "{field} must not contain nulls",
        {"rule": "array_elements_not_null", "field": "payload.items"},
    ),
    row_rule(
        "array_unique",
        FAMILY,
        "Null, or an array without two equal elements (numbers by value, containers by JSON text).",
        NoParams,
        "{field} must not contain duplicates",
        {"rule": "array_unique", "field": "payload.tags"},
    ),
    row_rule(
        "sql_expression",
        FAMILY,
        "A Spark SQL boolean expression over the DataFrame's columns (the envelope: payload is JSON text); "
        "false fails, null passes. Spark engine only.",
        SqlExpression,
        "the row must satisfy {expr}",
        {"rule": "sql_expression", "params": {"expr": "received_at >= occurred_at - INTERVAL 5 MINUTES"}},
        needs_field=False,
        python=False,
    ),
]
