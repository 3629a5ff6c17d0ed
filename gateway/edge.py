"""Edge validation: an event whose contract has `edge_validation: true` is checked against the contract's row
rules that the pure-Python engine supports, before it is accepted. Breaking a rule of severity `quarantine` or
`fail` refuses the event (its errors name the rule ids); `warn` failures are accepted and only counted.

Contracts are loaded once, at startup, from `WEIR_CONTRACTS_DIR` (default: the repo's `contracts/`).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quality import CompiledContract, CompiledRule, contract_for, load_contracts
from quality.engines.python import evaluate, supports

DEFAULT_CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"
BLOCKING = frozenset({"quarantine", "fail"})


class EdgeValidator:
    def __init__(self, contracts: Mapping[str, CompiledContract]) -> None:
        self._contracts = dict(contracts)
        self._rules: dict[str, tuple[CompiledRule, ...]] = {}

    @classmethod
    def from_dir(cls, directory: Path | None) -> "EdgeValidator":
        return cls(load_contracts(directory or DEFAULT_CONTRACTS_DIR))

    def rules_for(self, event_type: str) -> tuple[CompiledRule, ...]:
        """The rules checked at the edge for `event_type` (none when its contract does not ask for it)."""
        rules = self._rules.get(event_type)
        if rules is None:
            contract = contract_for(self._contracts, event_type)
            rules = ()
            if contract is not None and contract.edge_validation:
                rules = tuple(r for r in contract.row_rules if supports(r.type))
            if len(self._rules) < 10_000:  # event types are client input: bound the cache
                self._rules[event_type] = rules
        return rules

    def check(self, record: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
        """(errors refusing the event, ids of warn-level rules it broke)."""
        rules = self.rules_for(str(record["event_type"]))
        if not rules:
            return [], []
        errors: list[dict[str, Any]] = []
        warnings: list[str] = []
        for failure in evaluate(record, rules):
            if failure.severity in BLOCKING:
                errors.append(
                    {
                        "path": _field_of(rules, failure.rule),
                        "type": "contract_rule",
                        "rule": failure.rule,
                        "severity": failure.severity,
                        "message": failure.message,
                    }
                )
            else:
                warnings.append(failure.rule)
        return errors, warnings


def _field_of(rules: tuple[CompiledRule, ...], rule_id: str) -> str:
    for rule in rules:
        if rule.id == rule_id:
            return rule.field or "$"
    return "$"
