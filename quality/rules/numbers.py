"""Number rules: JSON integers and numbers (or typed numeric columns) compared with constants.

Every rule here follows the shared semantics: null passes, a non-number fails (a string "5" is not 5), NaN
fails. Both engines compare as IEEE doubles: an integer beyond 2**53 is rounded like the Spark engine's DOUBLE.
"""

import math
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, StrictFloat, StrictInt, model_validator

from quality.rules.base import NoParams, Params, RuleType, row_rule

FAMILY = "numbers"

MAX_DECIMALS_LIMIT = 100


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number (an integer or a float), not {type(value).__name__} {value!r}")
    return value


def _finite(value: int | float) -> int | float:
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError("must be a finite number")
    return value


# An int or a float (never a bool or a numeric string), finite. Engines compare it as `float(value)`.
Number = Annotated[StrictInt | StrictFloat, BeforeValidator(_number), AfterValidator(_finite)]


class Range(Params):
    """Inclusive bounds."""

    min: Number
    max: Number

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be greater than max ({self.max})")
        return self


class OpenRange(Params):
    """Exclusive bounds: min < max, else no value could pass."""

    min: Number
    max: Number

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be less than max ({self.max}): no value lies between them")
        return self


class Bound(Params):
    value: Number


class MaxDecimals(Params):
    max: int = Field(strict=True, ge=0, le=MAX_DECIMALS_LIMIT)


class MultipleOf(Params):
    value: Number = Field(gt=0)


def _bound(name: str, summary: str, message: str, field: str, value: int | float) -> RuleType:
    return row_rule(name, FAMILY, summary, Bound, message, {"rule": name, "field": field, "params": {"value": value}})


RULES: list[RuleType] = [
    row_rule(
        "between",
        FAMILY,
        "Null, or a number with min <= value <= max.",
        Range,
        "{field} must be between {min} and {max}",
        {"rule": "between", "field": "payload.amount", "params": {"min": 0, "max": 10000}},
    ),
    row_rule(
        "between_exclusive",
        FAMILY,
        "Null, or a number with min < value < max.",
        OpenRange,
        "{field} must be strictly between {min} and {max}",
        {"rule": "between_exclusive", "field": "payload.discount_rate", "params": {"min": 0, "max": 1}},
    ),
    _bound("greater_than", "Null, or a number > value.", "{field} must be greater than {value}", "payload.amount", 0),
    _bound(
        "greater_or_equal",
        "Null, or a number >= value.",
        "{field} must be at least {value}",
        "payload.quantity",
        1,
    ),
    _bound("less_than", "Null, or a number < value.", "{field} must be less than {value}", "payload.age", 150),
    _bound(
        "less_or_equal",
        "Null, or a number <= value.",
        "{field} must be at most {value}",
        "payload.discount_percent",
        100,
    ),
    _bound("equal_to", "Null, or a number == value.", "{field} must equal {value}", "payload.schema_revision", 2),
    _bound(
        "not_equal_to",
        "Null, or a number != value.",
        "{field} must not equal {value}",
        "payload.unit_price",
        0,
    ),
    row_rule(
        "positive",
        FAMILY,
        "Null, or a number > 0.",
        NoParams,
        "{field} must be positive",
        {"rule": "positive", "field": "payload.unit_price"},
    ),
    row_rule(
        "non_negative",
        FAMILY,
        "Null, or a number >= 0.",
        NoParams,
        "{field} must not be negative",
        {"rule": "non_negative", "field": "payload.shipping_cost"},
    ),
    row_rule(
        "finite",
        FAMILY,
        "Null, or a number that is neither NaN nor infinite (only typed double columns can hold those).",
        NoParams,
        "{field} must be a finite number",
        {"rule": "finite", "field": "payload.latitude"},
    ),
    row_rule(
        "max_decimals",
        FAMILY,
        "Null, or a finite number with at most `max` decimal places, judged on its value: round(x, max) == x "
        "(HALF_UP on the double), so 1.50 has one and 2.0 none.",
        MaxDecimals,
        "{field} must have at most {max} decimal places",
        {"rule": "max_decimals", "field": "payload.amount", "params": {"max": 2}},
    ),
    row_rule(
        "multiple_of",
        FAMILY,
        "Null, or a JSON integer (1, not 1.0) that is a multiple of value (exact floating-point remainder).",
        MultipleOf,
        "{field} must be an integer multiple of {value}",
        {"rule": "multiple_of", "field": "payload.pack_size", "params": {"value": 6}},
    ),
]
