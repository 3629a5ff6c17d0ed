"""Where a timed step's time went, for bench/batch.py: each step runs under a Spark job group, and its jobs
(with their stages' task time) are read back from the driver's status store, so a figure that misses its target
comes with the Spark jobs that cost it."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from py4j.protocol import Py4JError
from pyspark.sql import SparkSession


def _ms(option: Any) -> float | None:
    return float(option.get().getTime()) if option.isDefined() else None


@contextmanager
def job_group(spark: SparkSession, group: str) -> Iterator[None]:
    sc = spark.sparkContext
    sc.setJobGroup(group, group)
    try:
        yield
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        sc.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]


def jobs(spark: SparkSession, group: str, top: int = 8) -> dict[str, Any]:
    """The Spark jobs of `group`: how many, their wall seconds in total, and the `top` longest (name, seconds,
    tasks, the stages' summed executor run time). Empty when the status store cannot be read."""
    try:
        sc = spark.sparkContext
        store: Any = sc._jsc.sc().statusStore()  # type: ignore[union-attr]
        no_quantiles = sc._gateway.new_array(sc._jvm.double, 0)  # type: ignore[union-attr]
        listed = store.jobsList(None)
        found = []
        for i in range(listed.size()):
            jd = listed.apply(i)
            g = jd.jobGroup()
            if not g.isDefined() or g.get() != group:
                continue
            start, end = _ms(jd.submissionTime()), _ms(jd.completionTime())
            seconds = (end - start) / 1000 if start is not None and end is not None else None
            run_ms = 0
            stage_ids = jd.stageIds()
            for k in range(stage_ids.size()):
                try:  # a skipped stage (its shuffle output reused) is not in the store
                    attempts = store.stageData(int(stage_ids.apply(k)), False, None, False, no_quantiles)
                except Py4JError:
                    continue
                for a in range(attempts.size()):
                    run_ms += int(attempts.apply(a).executorRunTime())
            found.append(
                {
                    "job": int(jd.jobId()),
                    "name": str(jd.name())[:120],
                    "s": round(seconds, 3) if seconds is not None else None,
                    "tasks": int(jd.numTasks()),
                    "task_s": round(run_ms / 1000, 3),
                }
            )
    except Exception as exc:  # the profile is a help, never the bench's failure
        return {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    found.sort(key=lambda j: j["s"] or 0, reverse=True)
    return {
        "jobs": len(found),
        "jobs_s": round(sum(j["s"] or 0 for j in found), 3),
        "task_s": round(sum(j["task_s"] for j in found), 3),
        "longest": found[:top],
    }


def timed(spark: SparkSession, group: str, fn: Callable[[], Any], cpu: Callable[[], float]) -> tuple[float, float, Any]:
    """(wall seconds, JVM CPU seconds, result) of `fn()` run under job group `group`."""
    with job_group(spark, group):
        started, cpu_started = time.perf_counter(), cpu()
        out = fn()
        return time.perf_counter() - started, cpu() - cpu_started, out
