"""strings rules (declarations)."""

from quality.rules.base import RuleType

FAMILY = "strings"

RULES: list[RuleType] = []
