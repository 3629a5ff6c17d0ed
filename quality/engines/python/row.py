"""What a Python row check sees: the record, its field paths, and the evaluation's `now`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quality.engines.python.values import lookup


@dataclass(frozen=True)
class PyRow:
    record: Mapping[str, Any]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def get(self, path: str | None) -> Any:
        if path is None:
            raise ValueError("this rule needs a field")
        return lookup(self.record, path)
