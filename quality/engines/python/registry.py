"""The pure-Python engine's implementations, by rule type name.

A row check is `check(params, row, field) -> bool` (True = the row passes), where `row` is a `PyRow`.
"""

from collections.abc import Callable
from typing import Any

from quality.engines.python.row import PyRow
from quality.registry import Registry

RowCheck = Callable[[Any, PyRow, str | None], bool]

PYTHON_ROW_CHECKS: Registry[RowCheck] = Registry("python row check")
python_check = PYTHON_ROW_CHECKS.add
