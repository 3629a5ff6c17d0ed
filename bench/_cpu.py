"""CPU seconds of the Spark JVM, for benchmarks that report CPU beside wall time (barely moved by other work on a
shared machine, unlike wall time)."""

import os
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import SparkSession


def jvm_cpu(spark: SparkSession) -> Callable[[], float]:
    """A reader of the CPU seconds the session's JVM (every thread: tasks, GC, JIT) has used so far."""
    pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())  # type: ignore[union-attr]

    def read() -> float:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    return read
