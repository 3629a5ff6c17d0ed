"""What every batch command does around its job: a Spark session, the job's metrics, its duration, the push to
the Pushgateway (when `WEIR_PUSHGATEWAY` is set), and the session stopped at the end. Jobs themselves take a
session and a `JobMetrics` (so that tests hand them the suite's session)."""

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from pyspark.sql import SparkSession

from batch.settings import BatchSettings
from lake.session import build_session
from observability.batch import JobMetrics


class JobReport(Protocol):
    """What a job returns: its `--json` object, its text for a person, and the exit code."""

    @property
    def exit_code(self) -> int: ...

    def as_json(self) -> dict[str, object]: ...

    def text(self) -> str: ...


R = TypeVar("R", bound=JobReport)


def session(settings: BatchSettings, job: str) -> SparkSession:
    return build_session(
        settings.jars,
        app_name=f"weir-{job}",
        master=settings.spark_master,
        shuffle_partitions=settings.shuffle_partitions,
        driver_memory=settings.spark_driver_memory,
    )


def run_job(job: str, settings: BatchSettings, work: Callable[[SparkSession, JobMetrics], R]) -> R:
    """Run `work` in a fresh session; push its metrics (success = exit code 0; an exception is a failure)."""
    metrics = JobMetrics(job)
    started = time.monotonic()
    spark = session(settings, job)
    ok = False
    try:
        report = work(spark, metrics)
        ok = report.exit_code == 0
        return report
    finally:
        metrics.finish(success=ok, seconds=time.monotonic() - started)
        metrics.push(settings.pushgateway, success=ok)
        spark.stop()
