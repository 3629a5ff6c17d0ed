"""Set membership rules.

Membership is kind-aware: a JSON string matches only string values, a number only numeric values (compared
as doubles: 1 == 1.0), a boolean only booleans. `case_sensitive: false` lower-cases strings on both sides.
"""

import math
from collections.abc import Iterable
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from quality.rules.base import Params, RuleType, row_rule

FAMILY = "sets"

SetValue = StrictStr | StrictBool | StrictInt | StrictFloat


def _fold(values: Iterable[str], case_sensitive: bool) -> frozenset[str]:
    return frozenset(values if case_sensitive else (v.lower() for v in values))


class SetParams(Params):
    """`values`: strings, numbers and booleans; the value must equal one of them (kind-aware)."""

    values: Annotated[list[SetValue], Field(min_length=1)]
    case_sensitive: bool = True

    @field_validator("values")
    @classmethod
    def _finite(cls, values: list[SetValue]) -> list[SetValue]:
        for v in values:
            if isinstance(v, int | float) and not isinstance(v, bool):
                try:
                    finite = math.isfinite(float(v))
                except OverflowError:
                    finite = False
                if not finite:
                    raise ValueError(f"{v!r} is not a finite number")
        return values

    @cached_property
    def strings(self) -> frozenset[str]:
        """The string values (lower-cased unless case-sensitive)."""
        return _fold([v for v in self.values if isinstance(v, str)], self.case_sensitive)

    @cached_property
    def numbers(self) -> frozenset[float]:
        """The numeric values as doubles (-0.0 as 0.0)."""
        return frozenset(float(v) + 0.0 for v in self.values if isinstance(v, int | float) and not isinstance(v, bool))

    @cached_property
    def booleans(self) -> frozenset[bool]:
        return frozenset(v for v in self.values if isinstance(v, bool))


class StringSetParams(Params):
    values: Annotated[list[StrictStr], Field(min_length=1)]
    case_sensitive: bool = True

    @cached_property
    def strings(self) -> frozenset[str]:
        return _fold(self.values, self.case_sensitive)


@cache
def read_reference(path: str) -> frozenset[str]:
    """The values of a reference file (read once per process): one per line, stripped; blank lines and
    lines starting with # are skipped. Raises ValueError when the file cannot be read or has no value."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"reference file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read reference file {path}: {exc}") from None
    values = frozenset(s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#"))
    if not values:
        raise ValueError(f"reference file {path} has no value")
    return values


class ReferenceParams(Params):
    """Either `file` (a UTF-8 text file; a relative path is read beside the contract file, or from the current
    directory for a contract parsed from a string) or `values`."""

    file: str | None = None
    values: Annotated[list[StrictStr], Field(min_length=1)] | None = None
    case_sensitive: bool = True

    @field_validator("file")
    @classmethod
    def _readable(cls, file: str | None) -> str | None:
        if file is None:
            return None
        path = str(Path(file).absolute())
        read_reference(path)
        return path

    @model_validator(mode="after")
    def _one_source(self) -> "ReferenceParams":
        if (self.file is None) == (self.values is None):
            raise ValueError("give exactly one of `file` and `values`")
        return self

    @cached_property
    def strings(self) -> frozenset[str]:
        values = read_reference(self.file) if self.file is not None else frozenset(self.values or ())
        return _fold(values, self.case_sensitive)


RULES: list[RuleType] = [
    row_rule(
        "in_set",
        FAMILY,
        "The value equals one of `values` (strings, numbers or booleans, matched kind by kind).",
        SetParams,
        "{field} must be one of {values}",
        {
            "rule": "in_set",
            "field": "payload.status",
            "params": {"values": ["pending", "paid", "shipped", "cancelled"]},
        },
    ),
    row_rule(
        "not_in_set",
        FAMILY,
        "The value equals none of `values` (a value of another kind, an array or an object passes).",
        SetParams,
        "{field} must not be one of {values}",
        {
            "rule": "not_in_set",
            "field": "payload.email_domain",
            "params": {"values": ["mailinator.com", "example.com"], "case_sensitive": False},
        },
    ),
    row_rule(
        "in_reference",
        FAMILY,
        "The string is one of a reference list: `file` (one value per line, # comments) or inline `values`.",
        ReferenceParams,
        "{field} must be one of the reference values",
        {
            "rule": "in_reference",
            "field": "payload.warehouse_code",
            "params": {"values": ["AMS1", "FRA2", "LHR1", "MAD1"]},
        },
    ),
    row_rule(
        "array_elements_in_set",
        FAMILY,
        "The value is an array whose elements are all strings of `values` (an empty array passes).",
        StringSetParams,
        "every element of {field} must be one of {values}",
        {
            "rule": "array_elements_in_set",
            "field": "payload.tags",
            "params": {"values": ["gift", "sale", "new", "clearance"]},
        },
    ),
]
