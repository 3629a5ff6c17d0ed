"""The rule catalog: every rule type Weir knows, by name (declarations only; engines are elsewhere).

Families live in their own modules, each exporting `RULES`; `CATALOG` registers them all and refuses a
duplicate name.
"""

from quality.registry import Registry
from quality.rules import dataset, formats, nulls, numbers, sets, strings, structure, temporal
from quality.rules.base import NoParams, Params, RuleKind, RuleType, Severity

CATALOG: Registry[RuleType] = Registry("rule type")

for _family in (nulls, strings, sets, formats, numbers, temporal, structure, dataset):
    for _rule in _family.RULES:
        CATALOG.register(_rule.name, _rule)

__all__ = ["CATALOG", "NoParams", "Params", "RuleKind", "RuleType", "Severity"]
