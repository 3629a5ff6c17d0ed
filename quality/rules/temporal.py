"""temporal rules (declarations)."""

from quality.rules.base import RuleType

FAMILY = "temporal"

RULES: list[RuleType] = []
