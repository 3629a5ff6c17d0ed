"""structure rules (declarations)."""

from quality.rules.base import RuleType

FAMILY = "structure"

RULES: list[RuleType] = []
