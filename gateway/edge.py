"""Edge validation: an event whose contract has `edge_validation: true` is checked against the contract's row
rules that the pure-Python engine supports, before it is accepted. Breaking a rule of severity `quarantine` or
`fail` refuses the event (its errors name the rule ids); `warn` failures are accepted and only counted.

Contracts are loaded once, at startup, from `WEIR_CONTRACTS_DIR` (default: the repo's `contracts/`); each event
type's rules are compiled for the Python engine the first time that type is seen.
"""

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from quality import CompiledContract, CompiledRule, contract_for, load_contracts
from quality.engines.python import RuleSet, compile_rules, supports

DEFAULT_CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"
BLOCKING = frozenset({"quarantine", "fail"})


class _TypeRules:
    """One event type's edge rules, compiled; `fields` maps a rule id to the field its errors name."""

    __slots__ = ("fields", "rule_set")

    def __init__(self, rules: tuple[CompiledRule, ...]) -> None:
        self.rule_set: RuleSet | None = compile_rules(rules) if rules else None
        self.fields: dict[str, str] = {}
        for rule in rules:
            self.fields.setdefault(rule.id, rule.field or "$")


class EdgeValidator:
    def __init__(self, contracts: Mapping[str, CompiledContract]) -> None:
        self._contracts = dict(contracts)
        self._types: dict[str, _TypeRules] = {}

    @classmethod
    def from_dir(cls, directory: Path | None) -> "EdgeValidator":
        return cls(load_contracts(directory or DEFAULT_CONTRACTS_DIR))

    def rules_for(self, event_type: str) -> tuple[CompiledRule, ...]:
        """The rules checked at the edge for `event_type` (none when its contract does not ask for it)."""
        rule_set = self._compiled(event_type).rule_set
        return rule_set.rules if rule_set is not None else ()

    def _compiled(self, event_type: str) -> _TypeRules:
        compiled = self._types.get(event_type)
        if compiled is None:
            contract = contract_for(self._contracts, event_type)
            rules: tuple[CompiledRule, ...] = ()
            if contract is not None and contract.edge_validation:
                rules = tuple(r for r in contract.row_rules if supports(r.type))
            compiled = _TypeRules(rules)
            if len(self._types) < 10_000:  # event types are client input: bound the cache
                self._types[event_type] = compiled
        return compiled

    def check(self, record: Mapping[str, Any], now: datetime | None = None) -> tuple[list[dict[str, Any]], list[str]]:
        """(errors refusing the event, ids of warn-level rules it broke); `now` is the clock of time rules
        (default: the current time)."""
        compiled = self._compiled(str(record["event_type"]))
        if compiled.rule_set is None:
            return [], []
        failures = compiled.rule_set.failures(record, now)
        if not failures:
            return [], []
        errors: list[dict[str, Any]] = []
        warnings: list[str] = []
        for failure in failures:
            if failure.severity in BLOCKING:
                errors.append(
                    {
                        "path": compiled.fields[failure.rule],
                        "type": "contract_rule",
                        "rule": failure.rule,
                        "severity": failure.severity,
                        "message": failure.message,
                    }
                )
            else:
                warnings.append(failure.rule)
        return errors, warnings
