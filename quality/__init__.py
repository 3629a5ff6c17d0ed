"""Weir's data-quality layer: event contracts and their rules (declarations, `quality.rules`), and the engines
that evaluate them (`quality.engines.spark` for streams and batch, `quality.engines.python` for the gateway's
edge and unit tests). It imports no other Weir package.

Public surface: `CATALOG` (the rule types), `load_contracts` / `parse_contract` (YAML -> `CompiledContract`),
and the engines' `with_dq_failures` (Spark) and `evaluate` (Python).
"""

from quality.contract import CompiledContract, CompiledRule, Contract
from quality.loader import contract_for, load_contract, load_contracts, parse_contract
from quality.rules import CATALOG, RuleKind, RuleType, Severity

__all__ = [
    "CATALOG",
    "CompiledContract",
    "CompiledRule",
    "Contract",
    "RuleKind",
    "RuleType",
    "Severity",
    "contract_for",
    "load_contract",
    "load_contracts",
    "parse_contract",
]
