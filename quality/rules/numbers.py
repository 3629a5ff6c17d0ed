"""numbers rules (declarations)."""

from quality.rules.base import RuleType

FAMILY = "numbers"

RULES: list[RuleType] = []
