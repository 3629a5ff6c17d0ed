"""The pure-Python engine: the same row-rule verdicts as the Spark engine, for one record at a time (the
gateway's edge validation) and for unit tests."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quality.contract import CompiledRule
from quality.engines.python import (  # noqa: F401  (each module registers its checks)
    formats,
    nulls,
    numbers,
    sets,
    strings,
    structure,
    temporal,
)
from quality.engines.python.registry import PYTHON_ROW_CHECKS
from quality.engines.python.row import PyRow
from quality.exceptions import UnsupportedRuleError
from quality.rules.base import RuleType


@dataclass(frozen=True)
class Failure:
    rule: str
    severity: str
    message: str


def supports(rule_type: RuleType) -> bool:
    return rule_type.python and rule_type.name in PYTHON_ROW_CHECKS


def evaluate(record: Mapping[str, Any], rules: Sequence[CompiledRule], *, now: datetime | None = None) -> list[Failure]:
    """Every rule `record` breaks, in the order of `rules`. Raises `UnsupportedRuleError` for a rule this
    engine cannot evaluate (filter with `supports` first)."""
    row = PyRow(record) if now is None else PyRow(record, now)
    failures: list[Failure] = []
    for rule in rules:
        if not supports(rule.type):
            raise UnsupportedRuleError(f"the Python engine cannot evaluate {rule.type.name!r} (rule {rule.id})")
        if not PYTHON_ROW_CHECKS.get(rule.type.name)(rule.params, row, rule.field):
            failures.append(Failure(rule.id, rule.severity.value, rule.message))
    return failures
