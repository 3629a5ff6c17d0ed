"""sets rules (declarations)."""

from quality.rules.base import RuleType

FAMILY = "sets"

RULES: list[RuleType] = []
