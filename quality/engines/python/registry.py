"""The pure-Python engine's implementations, by rule type name.

A rule type is implemented as a *compiler*: `compile(params, field) -> test`, run once per rule; the `test(row)`
it returns (True = the row passes) is what runs per row, with its params parsed, its field path split and its
patterns compiled beforehand. `PYTHON_ROW_CHECKS` names every rule type the engine implements.
"""

from collections.abc import Callable
from typing import Any

from quality.engines.python.row import PyRow
from quality.registry import Registry

RowTest = Callable[[PyRow], bool]
RowCompiler = Callable[[Any, str | None], RowTest]

PYTHON_ROW_CHECKS: Registry[RowCompiler] = Registry("python row check")
python_check = PYTHON_ROW_CHECKS.add
