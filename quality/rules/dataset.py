"""Dataset rules (declarations): metrics over a whole DataFrame, for sweeps and per micro-batch."""

from quality.rules.base import RuleType

FAMILY = "dataset"

RULES: list[RuleType] = []
