"""The Spark engine's implementations, by rule type name.

A row check is `check(params, fields, field) -> Column`: a boolean expression, True when the row passes
(a null result counts as a pass). A dataset check is described in `quality.engines.spark.dataset`.
"""

from collections.abc import Callable
from typing import Any

from pyspark.sql import Column

from quality.engines.spark.values import Fields
from quality.registry import Registry

RowCheck = Callable[[Any, Fields, str | None], Column]

SPARK_ROW_CHECKS: Registry[RowCheck] = Registry("spark row check")
spark_check = SPARK_ROW_CHECKS.add
