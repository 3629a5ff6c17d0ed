"""Great Expectations (GX Core 1.x, Spark execution engine) side of the quality benchmark.

The suite is built once (untimed); a measured run is one `ValidationDefinition.run` over a DataFrame read
from the same Parquet as Weir's runs, with `result_format="BOOLEAN_ONLY"` (the cheapest format; every row is
still checked). GX persists the batch DataFrame by default (`persist=True`): we keep that default, since
its many metric jobs would otherwise each re-read the Parquet, and clear the cache after every run so each
run starts from the files like Weir's.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class GxSpec:
    """One expectation: its class name in `great_expectations.expectations` and its arguments. A
    `row_condition` is given as a tuple: ("eq", column, value) or ("not_null", column)."""

    type: str
    kwargs: dict[str, Any]

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items() if k != "value_set")
        if "value_set" in self.kwargs:
            args += f", value_set=<{len(self.kwargs['value_set'])} values>"
        return f"{self.type}({args})"


def version() -> str:
    import great_expectations as gx

    return str(gx.__version__)


def _condition(spec: tuple[Any, ...]) -> Any:
    from great_expectations.expectations.row_conditions import Column

    op, column, *rest = spec
    if op == "eq":
        return Column(column) == rest[0]
    if op == "not_null":
        return Column(column).is_not_null()
    raise ValueError(f"unknown row condition {spec!r}")


def _expectation(spec: GxSpec) -> Any:
    import great_expectations.expectations as gxe

    kwargs = dict(spec.kwargs)
    if "row_condition" in kwargs:
        kwargs["row_condition"] = _condition(kwargs["row_condition"])
    return getattr(gxe, spec.type)(**kwargs)


class GxRunner:
    """An ephemeral GX context with a Spark data source, a whole-DataFrame batch definition, the suite and
    its validation definition, ready to validate DataFrames."""

    def __init__(self, spark: SparkSession, specs: Sequence[tuple[str, GxSpec]]) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.spark = spark
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        source = self.context.data_sources.add_spark(name="bench")
        asset = source.add_dataframe_asset(name="orders")
        batch = asset.add_batch_definition_whole_dataframe("whole")
        suite = self.context.suites.add(gx.ExpectationSuite(name="bench"))
        self.names: dict[str, str] = {}  # expectation id -> check name
        for name, spec in specs:
            expectation = suite.add_expectation(_expectation(spec))
            self.names[str(expectation.id)] = name
        self.definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name="bench", data=batch, suite=suite)
        )

    def validate(self, df: DataFrame) -> Any:
        """One validation of every expectation over `df`; the cache GX filled is cleared afterwards."""
        try:
            return self.definition.run(batch_parameters={"dataframe": df}, result_format="BOOLEAN_ONLY")
        finally:
            self.spark.catalog.clearCache()

    def summarize(self, result: Any) -> tuple[list[str], list[str]]:
        """(names of the checks whose expectation failed, errors raised by expectations) of a result."""
        failed: list[str] = []
        errors: list[str] = []
        for item in result.results:
            name = self.names.get(str(item.expectation_config.id), item.expectation_config.type)
            info = item.exception_info or {}
            if info.get("raised_exception"):
                errors.append(f"{name}: {info.get('exception_message')}")
            elif not item.success:
                failed.append(name)
        return sorted(failed), errors
