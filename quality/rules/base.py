"""What a rule type is: a name, a kind (row or dataset), a params model, a message, and a documented example.

Declarations only: how a rule is evaluated lives in `quality.engines.spark` and `quality.engines.python`.

Shared semantics every engine implements (and `tests/quality/test_engine_agreement.py` checks):
- a row rule whose field is null or absent **passes**, except the null-family rules (`not_null`, …);
- a value of the wrong JSON kind **fails** (a string where a number is expected breaks `between`);
- NaN fails every numeric comparison; it is a number of its own kind only for `is_number`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    WARN = "warn"  # keep the row, report the failure
    QUARANTINE = "quarantine"  # move the row to quarantine, report the failure
    FAIL = "fail"  # stop the job


class RuleKind(StrEnum):
    ROW = "row"
    DATASET = "dataset"


class Params(BaseModel):
    """Base of every params model: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


@dataclass(frozen=True)
class RuleType:
    """One entry of the catalog.

    `message` is a `str.format` template over `field` and the params' fields; it is the default message of a
    configured rule. `example` is a rule entry as written in a contract (without `id`), used in the docs and
    checked by the tests. `needs_field`: whether the rule targets one `field`.
    """

    name: str
    kind: RuleKind
    family: str
    summary: str
    params: type[Params]
    message: str
    example: Mapping[str, Any]
    needs_field: bool = True
    python: bool = True  # False: the pure-Python engine cannot evaluate it (custom SQL)
    tags: tuple[str, ...] = field(default_factory=tuple)

    def default_message(self, field_name: str | None, params: Params) -> str:
        values = {k: _fmt(v) for k, v in params.model_dump().items()}
        return self.message.format(field=field_name or "row", **values)


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def row_rule(
    name: str,
    family: str,
    summary: str,
    params: type[Params],
    message: str,
    example: Mapping[str, Any],
    *,
    needs_field: bool = True,
    python: bool = True,
) -> RuleType:
    return RuleType(name, RuleKind.ROW, family, summary, params, message, example, needs_field, python)


def dataset_rule(
    name: str,
    family: str,
    summary: str,
    params: type[Params],
    message: str,
    example: Mapping[str, Any],
    *,
    needs_field: bool = True,
) -> RuleType:
    return RuleType(name, RuleKind.DATASET, family, summary, params, message, example, needs_field, False)
