"""formats rules (declarations)."""

from quality.rules.base import RuleType

FAMILY = "formats"

RULES: list[RuleType] = []
