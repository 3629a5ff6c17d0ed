"""Quality engine benchmark: Weir's Spark engine with 50 row rules, the same scan with 0 rules, and Great
Expectations (Spark execution engine) with the same 50 checks, on the same Parquet data in the same run. With
Weir's jar built (`weir jars`, a JDK), the 50 rules also run a second time with regexes instead of Weir's format
matchers (`weir_rules_regex`), and both verdicts are counted.

    .venv/bin/python bench/quality.py [--rows 5000000] [--repeats 3] [--keep-data] [--data DIR] [--no-gx]

Targets (reported, never asserted): with_rules_time / no_rules_time <= 1.3, and GX time / Weir time >= 10.
Progress goes to stderr; the last stdout line is one JSON object with every figure.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ["TZ"] = "UTC"  # naive datetimes (GX's bounds) convert to Spark timestamps as UTC
time.tzset()
# `python bench/quality.py` puts bench/ first on sys.path, where this file would shadow the `quality`
# package: import from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from bench import _quality_data as data  # noqa: E402
from bench._cpu import jvm_cpu  # noqa: E402
from bench._quality_rules import checks, contract_text  # noqa: E402

OVERHEAD_TARGET = 1.3
SPEEDUP_TARGET = 10.0
MASTER = "local[2]"


def log(message: str) -> None:
    print(f"[bench/quality {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


from lake.localfs import find_jar, hadoop_settings  # noqa: E402
from lake.session import JIT_OPTIONS  # noqa: E402
from quality.engines.spark import matchers  # noqa: E402
from weir.stack.paths import Home  # noqa: E402


def session(driver_memory: str) -> SparkSession:
    builder = SparkSession.builder
    for key, value in hadoop_settings(find_jar(Home.from_env().jars / "spark")).items():  # Weir's jar, if built
        builder = builder.config(key, value)
    spark = (
        builder.master(MASTER)
        .appName("weir-bench-quality")
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.extraJavaOptions", JIT_OPTIONS)  # what Weir's own sessions use
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class Jobs:
    """Counts the Spark jobs a block of work started (through a job group), and the CPU it used."""

    def __init__(self, spark: SparkSession) -> None:
        self.sc = spark.sparkContext
        self.n = 0
        self.jvm_cpu = jvm_cpu(spark)
        self.last_cpu = 0.0

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the Spark JVM (every thread: tasks, GC, JIT) and by this Python process
        (GX's Python side): unlike wall time, barely moved by other work on a shared machine."""
        return self.jvm_cpu() + time.process_time()

    def timed(self, name: str, work: Callable[[], Any]) -> tuple[float, int, Any]:
        self.n += 1
        group = f"bench-{name}-{self.n}"
        self.sc.setJobGroup(group, name)
        start, cpu_start = time.perf_counter(), self.cpu_seconds()
        try:
            out = work()
        finally:
            elapsed = time.perf_counter() - start
            self.last_cpu = self.cpu_seconds() - cpu_start
            self.sc.setJobGroup("", "")
        return elapsed, len(self.sc.statusTracker().getJobIdsForGroup(group)), out


def weir_scan(spark: SparkSession, path: str, rules: Any, now: datetime, *, regex: bool = False) -> Callable[[], None]:
    from quality.engines.spark import with_dq_failures

    def run() -> None:
        df = data.read(spark, path)
        with matchers.off(spark) if regex else nullcontext():
            checked = with_dq_failures(df, rules, now=now)
        checked.write.format("noop").mode("overwrite").save()

    return run


def weir_failures(spark: SparkSession, path: str, rules: Any, now: datetime, *, regex: bool = False) -> dict[str, int]:
    """Untimed: how many rows each rule flagged (proof the rules ran and found the planted bad values)."""
    from quality.engines.spark import FAILURES, with_dq_failures

    with matchers.off(spark) if regex else nullcontext():
        df = with_dq_failures(data.read(spark, path), rules, now=now)
    counts = df.select(F.explode(FAILURES).alias("f")).groupBy("f.rule").count().collect()
    flagged = {row["rule"]: int(row["count"]) for row in counts}
    flagged["__rows__"] = int(df.where(F.size(FAILURES) > 0).count())
    return flagged


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def seconds(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def rate(rows: int, seconds: float | None) -> int | None:
    return round(rows / seconds) if seconds else None


def load_weir(now: datetime) -> tuple[Any, str | None]:
    try:
        from quality.loader import parse_contract

        contract = parse_contract(contract_text(now), "bench/quality.py")
        return contract.row_rules, None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def load_gx(spark: SparkSession, now: datetime) -> tuple[Any, str | None, str | None]:
    try:
        from bench._gx import GxRunner, version

        return GxRunner(spark, [(check.id, check.gx) for check in checks(now)]), version(), None
    except Exception as exc:
        return None, None, f"{type(exc).__name__}: {exc}"


def prepare_data(spark: SparkSession, args: argparse.Namespace) -> tuple[str, bool]:
    """The Parquet path, and whether it is temporary. `--data DIR` reuses DIR when it holds `--rows` rows."""
    if args.data:
        path = str(Path(args.data).resolve())
        marker = Path(path) / "_ROWS"
        if marker.exists() and marker.read_text().strip() == str(args.rows):
            log(f"reusing {args.rows:,} rows at {path}")
            return path, False
    else:
        base = Path(os.environ["WEIR_HOME"]) / "bench" if os.environ.get("WEIR_HOME") else None
        if base is not None:
            base.mkdir(parents=True, exist_ok=True)
        path = str(Path(tempfile.mkdtemp(prefix="weir-quality-", dir=base)) / "orders")
    log(f"generating {args.rows:,} rows into {path}")
    start = time.perf_counter()
    data.generate(spark, args.rows, path)
    (Path(path) / "_ROWS").write_text(str(args.rows))
    log(f"generated in {time.perf_counter() - start:.1f} s")
    return path, not (args.keep_data or args.data)


def parquet_bytes(path: str) -> int:
    return sum(p.stat().st_size for p in Path(path).glob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep-data", action="store_true", help="keep the generated Parquet")
    parser.add_argument("--data", help="Parquet directory to reuse (or create and keep)")
    parser.add_argument("--no-gx", action="store_true", help="skip Great Expectations")
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()

    load_start = os.getloadavg()
    spark = session(args.driver_memory)
    jobs = Jobs(spark)
    now = datetime.now(UTC).replace(microsecond=0)
    path, temporary = prepare_data(spark, args)
    try:
        result = run(spark, jobs, path, args, now)
    finally:
        if temporary:
            shutil.rmtree(Path(path).parent, ignore_errors=True)
    result["load_avg_start"] = [round(x, 2) for x in load_start]
    result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    spark.stop()
    print(json.dumps(result))


@dataclass
class Measurement:
    times: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)
    gx_result: Any = None
    gx_error: str | None = None


def measure(jobs: Jobs, variants: dict[str, Callable[[], Any]], repeats: int) -> Measurement:
    """One warm-up round, then `repeats` rounds running every variant in turn (alternating)."""
    m = Measurement(times={name: [] for name in variants})
    for round_ in range(repeats + 1):
        label = "warm-up" if round_ == 0 else f"run {round_}/{repeats}"
        for name, work in list(variants.items()):
            try:
                elapsed, n_jobs, out = jobs.timed(name, work)
            except Exception as exc:
                if name != "gx":
                    raise
                m.gx_error = f"{type(exc).__name__}: {exc}"
                log(f"GX failed, dropped from the run: {m.gx_error}")
                del variants["gx"]
                m.times.pop("gx")
                continue
            log(f"{label}: {name} {elapsed:.2f} s, {jobs.last_cpu:.1f} CPU s ({n_jobs} Spark jobs)")
            m.jobs[name] = n_jobs
            if name == "gx":
                m.gx_result = out
            if round_ > 0:
                m.times[name].append(elapsed)
                m.cpu.setdefault(name, []).append(jobs.last_cpu)
    return m


def figures(rows: int, m: Measurement) -> dict[str, Any]:
    with_rules = median(m.times.get("weir_rules", []))
    no_rules = median(m.times.get("weir_no_rules", []))
    gx_s = median(m.times.get("gx", []))
    overhead = ratio(with_rules, no_rules)
    speedup = ratio(gx_s, with_rules)
    with_regex = median(m.times.get("weir_rules_regex", []))
    return {
        "weir_rules_s": seconds(with_rules),
        "weir_rules_regex_s": seconds(with_regex),
        "matchers_over_regex": ratio(with_rules, with_regex),
        "rules_overhead_ratio_regex": ratio(with_regex, no_rules),
        "weir_rules_rows_per_s": rate(rows, with_rules),
        "weir_no_rules_s": seconds(no_rules),
        "weir_no_rules_rows_per_s": rate(rows, no_rules),
        "rules_overhead_ratio": overhead,
        "rules_overhead_target": OVERHEAD_TARGET,
        "rules_overhead_target_met": overhead is not None and overhead <= OVERHEAD_TARGET,
        "gx_s": seconds(gx_s),
        "gx_rows_per_s": rate(rows, gx_s),
        "gx_over_weir": speedup,
        "speedup_target": SPEEDUP_TARGET,
        "speedup_target_met": speedup is not None and speedup >= SPEEDUP_TARGET,
        "cpu_s": {name: seconds(median(values)) for name, values in m.cpu.items()},
        "rules_overhead_ratio_cpu": ratio(median(m.cpu.get("weir_rules", [])), median(m.cpu.get("weir_no_rules", []))),
        "rules_overhead_ratio_regex_cpu": ratio(
            median(m.cpu.get("weir_rules_regex", [])), median(m.cpu.get("weir_no_rules", []))
        ),
        "gx_over_weir_cpu": ratio(median(m.cpu.get("gx", [])), median(m.cpu.get("weir_rules", []))),
    }


def run(spark: SparkSession, jobs: Jobs, path: str, args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    rules, weir_error = load_weir(now)
    gx, gx_version, gx_error = (None, None, "skipped (--no-gx)") if args.no_gx else load_gx(spark, now)
    variants: dict[str, Callable[[], Any]] = {}
    has_matchers = matchers.register(spark)
    if rules is not None:
        variants["weir_rules"] = weir_scan(spark, path, rules, now)
        if has_matchers:
            variants["weir_rules_regex"] = weir_scan(spark, path, rules, now, regex=True)
    variants["weir_no_rules"] = weir_scan(spark, path, [], now)
    if gx is not None:
        variants["gx"] = lambda: gx.validate(data.read(spark, path))
    m = measure(jobs, variants, args.repeats)
    out: dict[str, Any] = {
        "bench": "quality",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "rules": len(rules) if rules is not None else 0,
        "master": MASTER,
        "cores": os.cpu_count(),
        "repeats": args.repeats,
        **figures(args.rows, m),
        "gx_error": m.gx_error or gx_error,
        "weir_error": weir_error,
        "format_matchers": has_matchers,
        "spark_jobs_per_run": m.jobs,
        "times_s": {name: [round(t, 3) for t in ts] for name, ts in m.times.items()},
    }
    weir_flagged: set[str] | None = None
    if rules is not None:
        flagged = weir_failures(spark, path, rules, now)
        out["weir_rows_flagged"] = flagged.pop("__rows__")
        out["weir_rules_that_flagged"] = len(flagged)
        weir_flagged = set(flagged)
        log("Weir rows flagged per rule: " + json.dumps(flagged, sort_keys=True))
        if has_matchers:  # the same verdicts with regexes: the same rows, the same count for each rule
            flagged_regex = weir_failures(spark, path, rules, now, regex=True)
            out["weir_rows_flagged_regex"] = flagged_regex.pop("__rows__")
            out["verdicts_same_as_regex"] = (
                flagged_regex == flagged and out["weir_rows_flagged_regex"] == out["weir_rows_flagged"]
            )
    if m.gx_result is not None and gx is not None:
        failed, errors = gx.summarize(m.gx_result)
        out["gx_expectations_failed"] = len(failed)
        out["gx_expectation_errors"] = errors
        log("GX failed expectations: " + ", ".join(failed))
        if weir_flagged is not None:
            # Checks only one tool found broken in this data (bench/README.md explains the known ones).
            out["verdict_differences"] = sorted(weir_flagged.symmetric_difference(failed))
    out["versions"] = {
        "python": platform.python_version(),
        "pyspark": spark.version,
        "java": spark.sparkContext._jvm.java.lang.System.getProperty("java.version"),  # type: ignore[union-attr]
        "great_expectations": gx_version,
    }
    out["parquet_bytes"] = parquet_bytes(path)
    return out


if __name__ == "__main__":
    main()
