"""The pure-Python engine: the same row-rule verdicts as the Spark engine, for one record at a time (the
gateway's edge validation) and for unit tests.

`compile_rules(rules)` does the per-rule work once (params parsed, field paths split, patterns compiled) and
returns a `RuleSet` whose `failures(record, now)` is a tight loop over plain closures; `evaluate` is the
one-shot form.
"""

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
from quality.engines.python.registry import PYTHON_ROW_CHECKS, RowTest
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


class RuleSet:
    """Rules compiled for the Python engine, evaluated in their order."""

    __slots__ = ("_tests", "rules")

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        tests: list[tuple[RowTest, Failure]] = []
        for rule in rules:
            if not supports(rule.type):
                raise UnsupportedRuleError(f"the Python engine cannot evaluate {rule.type.name!r} (rule {rule.id})")
            test = PYTHON_ROW_CHECKS.get(rule.type.name)(rule.params, rule.field)
            tests.append((test, Failure(rule.id, rule.severity.value, rule.message)))
        self.rules = tuple(rules)
        self._tests = tuple(tests)

    def failures(self, record: Mapping[str, Any], now: datetime | None = None) -> list[Failure]:
        """Every rule `record` breaks, in the order of the rules (`now` defaults to the current time)."""
        row = PyRow(record, now)
        return [failure for test, failure in self._tests if not test(row)]


def compile_rules(rules: Sequence[CompiledRule]) -> RuleSet:
    """Raises `UnsupportedRuleError` for a rule this engine cannot evaluate (filter with `supports` first)."""
    return RuleSet(rules)


def evaluate(record: Mapping[str, Any], rules: Sequence[CompiledRule], *, now: datetime | None = None) -> list[Failure]:
    """Every rule `record` breaks, in the order of `rules`. Raises `UnsupportedRuleError` for a rule this
    engine cannot evaluate (filter with `supports` first). Compiles the rules each call: keep a
    `compile_rules` result to evaluate many records."""
    return RuleSet(rules).failures(record, now)
