"""Contracts as data: the model of `contracts/<event_type>.yaml`, and its compiled form.

A contract names an event type, its schema versions, its payload fields (type, required, description) and
its rules. Each rule entry names a rule type of the catalog (`quality.rules.CATALOG`), a field, params, and a
severity: `warn` keeps the row and reports it; `quarantine` moves it to quarantine; `fail` stops the job.
The payload fields compile into rules too: `required: true` into `not_null`, a `type` into its type check.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from quality.rules import CATALOG, patterns
from quality.rules.base import Params, RuleKind, RuleType, Severity

RULE_ID = r"^[a-z0-9][a-z0-9_.-]{0,127}$"
FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
DEFAULT_EVENT_TYPE = "_default"

FieldType = Literal["string", "integer", "number", "boolean", "timestamp", "date", "array", "object", "any"]

# The rule type that checks a declared payload field type.
TYPE_RULES: Mapping[str, str] = {
    "string": "is_string",
    "integer": "is_integer",
    "number": "is_number",
    "boolean": "is_boolean",
    "timestamp": "is_timestamp",
    "date": "iso_date",
    "array": "is_array",
    "object": "is_object",
}


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType = "any"
    required: bool = False
    description: str = ""


class RuleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RULE_ID)
    rule: str
    field: str | None = None
    severity: Severity = Severity.QUARANTINE
    params: dict[str, Any] = Field(default_factory=dict)
    threshold: float | None = None
    message: str | None = None
    description: str = ""

    @field_validator("field")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not FIELD_PATH.match(value):
            raise ValueError(f"{value!r} is not a field path like `payload.amount` or `occurred_at`")
        return value


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: str = Field(pattern=rf"^(?:{DEFAULT_EVENT_TYPE}|{patterns.EVENT_TYPE})$")
    description: str = ""
    owner: str = ""
    schema_versions: list[int] = Field(default_factory=lambda: [1], min_length=1)
    edge_validation: bool = False
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    rules: list[RuleEntry] = Field(default_factory=list)
    dataset_rules: list[RuleEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class CompiledRule:
    id: str
    type: RuleType
    severity: Severity
    field: str | None
    params: Params
    message: str


@dataclass(frozen=True)
class CompiledContract:
    event_type: str
    schema_versions: tuple[int, ...]
    edge_validation: bool
    row_rules: tuple[CompiledRule, ...]
    dataset_rules: tuple[CompiledRule, ...]
    source: str = ""


def compile_rule(entry: RuleEntry, kind: RuleKind) -> CompiledRule:
    """Resolve the rule type and validate its params. Raises KeyError-free errors:
    `UnknownRuleError`, `ValueError` (wrong kind, missing field) or pydantic's `ValidationError`."""
    rule_type = CATALOG.get(entry.rule)
    if rule_type.kind is not kind:
        where = "rules" if rule_type.kind is RuleKind.ROW else "dataset_rules"
        raise ValueError(f"{entry.rule!r} is a {rule_type.kind} rule: list it under `{where}`")
    if rule_type.needs_field and entry.field is None:
        raise ValueError(f"rule type {entry.rule!r} needs a `field`")
    raw = dict(entry.params)
    if entry.threshold is not None:
        raw.setdefault("threshold", entry.threshold)
    params = rule_type.params.model_validate(raw)
    message = entry.message or rule_type.default_message(entry.field, params)
    return CompiledRule(entry.id, rule_type, entry.severity, entry.field, params, message)


def schema_rules(contract: Contract) -> list[CompiledRule]:
    """The rules the `fields` section implies: required -> not_null, type -> the type check."""
    out: list[CompiledRule] = []
    for name, spec in contract.fields.items():
        path = f"payload.{name}"
        if spec.required:
            entry = RuleEntry(id=f"schema.{name}.required", rule="not_null", field=path)
            out.append(compile_rule(entry, RuleKind.ROW))
        if spec.type in TYPE_RULES:
            entry = RuleEntry(id=f"schema.{name}.type", rule=TYPE_RULES[spec.type], field=path)
            out.append(compile_rule(entry, RuleKind.ROW))
    return out
