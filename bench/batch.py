"""The batch jobs against plain Spark on the same lake, in one run (issue #11's benchmark).

    .venv/bin/python bench/batch.py [--rows 5000000] [--days 40] [--files 8] [--compact-days 20] [--repeats 2]

The lake (`_batch_data.py`, a temporary dir, `$WEIR_HOME/bench` when set): `--rows` records received over
`--days` days as bronze (every record, 5% re-sent copies), silver and quarantine (the first copies the stream
would have routed: 3 event types, silver 3 x `--days` partitions), about `--files` small files per partition.
One contracts dir: `order.created` with bench/_stream_data.py's 50 row rules and 20 dataset rules.

1. **sweep**: `batch.sweep.run` over silver (its 20 dataset rules; no reconciliation) beside a plain scan of the
   columns they read (a noop write of order.created's `event_id`, `occurred_at`, `payload`); `--repeats` rounds,
   medians. Target: sweep / scan <= 1.5.
2. **compaction**: `batch.compact.run` of silver's first `--compact-days` days beside a plain read and rewrite of
   the same partitions of a copy (`repartition` by the partition columns, `replaceWhere`). Target <= 1.3.
3. **backfill**: `batch.backfill.run` of one event_date (bronze through the 50 rules, MERGEs into silver and
   quarantine, failures published to a private Kafka broker) in rows/s, beside plain Spark parsing that day's
   bronze (`from_json` of `raw`, a Delta write). Target >= 50,000 rows/s on 2 cores.

Each step runs under a Spark job group: the JSON has its jobs (count, time, the longest). Progress goes to
stderr; the last stdout line is one JSON object.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from batch import backfill, compact, sweep  # noqa: E402
from batch.settings import BatchSettings  # noqa: E402
from bench._batch_data import build_lake, write_contracts, write_small_files  # noqa: E402
from bench._batch_profile import jobs, timed  # noqa: E402
from bench._cpu import jvm_cpu  # noqa: E402
from bench._kafka import start_broker  # noqa: E402
from ingest.admin import create_topics, wait_for_cluster  # noqa: E402
from ingest.topics import TopicSpec  # noqa: E402
from lake.session import build_session  # noqa: E402
from lake.tables import BRONZE, PARTITIONS, QUARANTINE, SILVER, ensure_table, table_uri  # noqa: E402
from lake.transforms import ENVELOPE_SCHEMA  # noqa: E402
from observability.batch import JobMetrics  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

TARGETS = {"sweep_over_scan": 1.5, "compact_over_rewrite": 1.3, "backfill_rows_per_s": 50_000}


def log(message: str) -> None:
    print(f"[bench/batch {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def files(spark: SparkSession, uri: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, uri).detail().select("numFiles").first()[0])  # type: ignore[index]


def sweep_phase(spark: SparkSession, settings: BatchSettings, args: argparse.Namespace) -> dict[str, Any]:
    cpu = jvm_cpu(spark)
    silver = table_uri(settings.lake, SILVER)

    def scan() -> None:
        df = spark.read.format("delta").load(silver).where(F.col("event_type") == "order.created")
        df.select("event_type", "event_id", "occurred_at", "payload").write.format("noop").mode("overwrite").save()

    def job() -> Any:
        return sweep.run(
            spark, settings, JobMetrics("bench"), tables=[SILVER], event_types=[], date_from=None, date_to=None
        )

    walls: dict[str, list[float]] = {"scan": [], "sweep": []}
    cpus: dict[str, list[float]] = {"scan": [], "sweep": []}
    report: Any = None
    for round_ in range(args.repeats):
        for name, fn in (("scan", scan), ("sweep", job)):
            wall, used, out = timed(spark, f"sweep-{name}-{round_}", fn, cpu)
            walls[name].append(wall)
            cpus[name].append(used)
            report = out if name == "sweep" else report
            log(f"sweep phase: {name} {wall:.1f} s wall, {used:.1f} s CPU")
    sweep_s, scan_s = statistics.median(walls["sweep"]), statistics.median(walls["scan"])
    last = args.repeats - 1
    return {
        "rules": len(report.results),
        "rules_broken": [r.rule for r in report.broken],
        "scan_s": round(scan_s, 3),
        "sweep_s": round(sweep_s, 3),
        "times_s": {k: [round(t, 3) for t in v] for k, v in walls.items()},
        "cpu_s": {k: round(statistics.median(v), 3) for k, v in cpus.items()},
        "sweep_over_scan": round(sweep_s / scan_s, 3),
        "sweep_over_scan_cpu": round(statistics.median(cpus["sweep"]) / statistics.median(cpus["scan"]), 3),
        "spark_jobs": {n: jobs(spark, f"sweep-{n}-{last}") for n in ("scan", "sweep")},
    }


def compaction_phase(spark: SparkSession, settings: BatchSettings, args: argparse.Namespace, lo: Any) -> dict[str, Any]:
    cpu = jvm_cpu(spark)
    hi = lo + timedelta(days=args.compact_days - 1)
    # Not BETWEEN: Spark 4.2 rewrites it into a `With` expression that Delta's replaceWhere fails to resolve
    # (UnresolvedException: Invalid call to nullable on unresolved object).
    between = f"event_date >= DATE'{lo}' AND event_date <= DATE'{hi}'"
    silver = table_uri(settings.lake, SILVER)
    copy = str(Path(settings.lake).parent / "copy" / "silver")
    source = spark.read.format("delta").load(silver)
    ensure_table(spark, copy, source.schema, PARTITIONS[SILVER])
    per_file = max(1, args.rows // (args.days * 3 * args.files))
    write_small_files(source.where(between), copy, PARTITIONS[SILVER], per_file)
    in_range = source.where(between)
    before = {
        "silver_files": len(in_range.inputFiles()),
        "copy_files": len(spark.read.format("delta").load(copy).inputFiles()),
    }
    rows = in_range.count()
    log(f"compaction phase: {rows:,} rows, {before} files in {args.compact_days} days")

    def job() -> Any:
        return compact.run(
            spark,
            settings,
            JobMetrics("bench"),
            tables=[SILVER],
            date_from=lo,
            date_to=hi,
            vacuum=False,
            retention_hours=168.0,
            allow_short_retention=False,
            dry_run=False,
        )

    def rewrite() -> None:
        df = spark.read.format("delta").load(copy).where(between)
        df.repartition(*PARTITIONS[SILVER]).write.format("delta").mode("overwrite").option(
            "replaceWhere", between
        ).save(copy)

    job_s, job_cpu, report = timed(spark, "compact-job", job, cpu)
    log(f"compaction phase: job {job_s:.1f} s")
    plain_s, plain_cpu, _ = timed(spark, "compact-plain", rewrite, cpu)
    log(f"compaction phase: plain rewrite {plain_s:.1f} s")
    result = report.results[0]
    return {
        "rows": rows,
        "partitions": result.partitions,
        "files_before": before,
        "files_after": {
            "silver": len(spark.read.format("delta").load(silver).where(between).inputFiles()),
            "copy": len(spark.read.format("delta").load(copy).where(between).inputFiles()),
        },
        "job_s": round(job_s, 3),
        "plain_s": round(plain_s, 3),
        "cpu_s": {"job": round(job_cpu, 3), "plain": round(plain_cpu, 3)},
        "compact_over_rewrite": round(job_s / plain_s, 3),
        "compact_over_rewrite_cpu": round(job_cpu / plain_cpu, 3),
        "report": report.as_json(),
        "spark_jobs": {"job": jobs(spark, "compact-job"), "plain": jobs(spark, "compact-plain")},
    }


def backfill_phase(spark: SparkSession, settings: BatchSettings, day: Any, work: Path) -> dict[str, Any]:
    cpu = jvm_cpu(spark)
    bronze = table_uri(settings.lake, BRONZE)
    scratch = str(work / "scratch" / "parsed")

    def parse() -> int:
        day_rows = spark.read.format("delta").load(bronze).where(F.col("ingest_date") == F.lit(day))
        parsed = day_rows.select(F.from_json(F.col("raw"), ENVELOPE_SCHEMA).alias("e"), "kafka_offset").select(
            "e.*", "kafka_offset"
        )
        parsed.write.format("delta").mode("overwrite").save(scratch)
        return int(spark.read.format("delta").load(scratch).count())

    def job() -> Any:
        return backfill.run(spark, settings, JobMetrics("bench"), date_from=day, date_to=day, event_types=None)

    plain_s, plain_cpu, plain_rows = timed(spark, "backfill-plain", parse, cpu)
    log(f"backfill phase: plain parse of {plain_rows:,} rows {plain_s:.1f} s")
    job_s, job_cpu, report = timed(spark, "backfill-job", job, cpu)
    out = report.as_json()
    rows = int(out["rows_read"])
    log(f"backfill phase: job {job_s:.1f} s, {rows:,} bronze rows read ({out['bronze_scanned']:,} scanned)")
    return {
        "day": day.isoformat(),
        "job_s": round(job_s, 3),
        "job_rows_read": rows,
        "job_rows_per_s": round(rows / job_s),
        "plain_s": round(plain_s, 3),
        "plain_rows": plain_rows,
        "plain_rows_per_s": round(plain_rows / plain_s),
        "job_over_plain_rows_per_s": round((rows / job_s) / (plain_rows / plain_s), 3),
        "cpu_s": {"job": round(job_cpu, 3), "plain": round(plain_cpu, 3)},
        "report": {k: v for k, v in out.items() if k != "dates"} | {"dates": out.get("dates")},
        "spark_jobs": {"job": jobs(spark, "backfill-job", top=12), "plain": jobs(spark, "backfill-plain")},
    }


def phase(name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        out = fn()
    except Exception as exc:  # one job failing is a result; the other phases still count
        log(f"{name} phase failed: {type(exc).__name__}: {exc}")
        out = {"error": f"{type(exc).__name__}: {str(exc)[:800]}"}
    out["phase_s"] = round(time.perf_counter() - started, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="bronze records")
    parser.add_argument("--days", type=int, default=40, help="days of receipt (silver: 3 partitions a day)")
    parser.add_argument("--files", type=int, default=8, help="small files per partition")
    parser.add_argument("--compact-days", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    home = Home.from_env().ensure()
    fetch("spark", home)
    fetch("kafka", home)
    load_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=args.days + 2)
    work = Path(tempfile.mkdtemp(prefix="weir-bench-batch-", dir=os.environ.get("WEIR_HOME") and str(home.root)))
    broker = start_broker(work / "kafka", home.jars, log)
    spark: SparkSession | None = None
    out: dict[str, Any] = {"bench": "batch", "rows": args.rows, "days": args.days, "files_per_partition": args.files}
    try:
        bootstrap = broker.bootstrap if broker else os.environ["WEIR_KAFKA_BOOTSTRAP"]
        wait_for_cluster(bootstrap, timeout_s=60)
        topic = f"weir-bench.batch.dq-failures.{int(time.time())}"
        create_topics(bootstrap, [TopicSpec(topic, 2)])
        settings = BatchSettings(
            home=work,
            lake_uri=str(work / "lake"),
            contracts_dir=write_contracts(work / "contracts", start, args.days),
            kafka_bootstrap=bootstrap,
            failures_topic=topic,
            spark_jars_dir=home.jars / "spark",
        )
        spark = build_session(
            settings.jars,
            app_name="weir-bench-batch",
            shuffle_partitions=settings.shuffle_partitions,
            driver_memory=args.driver_memory,
        )
        t0 = time.perf_counter()
        counts = build_lake(spark, settings.lake, args.rows, args.days, start, args.files)
        lake_files = {n: files(spark, table_uri(settings.lake, n)) for n in (BRONZE, SILVER, QUARANTINE)}
        silver_parts = spark.read.format("delta").load(table_uri(settings.lake, SILVER)).select(*PARTITIONS[SILVER])
        out["lake"] = {
            "rows": counts,
            "files": lake_files,
            "silver_partitions": silver_parts.distinct().count(),
            "generate_s": round(time.perf_counter() - t0, 1),
        }
        log(f"lake: {json.dumps(out['lake'])}")
        out["sweep"] = phase("sweep", lambda: sweep_phase(spark, settings, args))
        out["compaction"] = phase("compaction", lambda: compaction_phase(spark, settings, args, start.date()))
        day = (start + timedelta(days=args.days * 3 // 4)).date()
        out["backfill"] = phase("backfill", lambda: backfill_phase(spark, settings, day, work))
    finally:
        if spark is not None:
            spark.stop()
        if broker is not None:
            broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    figures = {
        "sweep_over_scan": out.get("sweep", {}).get("sweep_over_scan"),
        "compact_over_rewrite": out.get("compaction", {}).get("compact_over_rewrite"),
        "backfill_rows_per_s": out.get("backfill", {}).get("job_rows_per_s"),
    }
    out["figures"] = figures
    out["targets"] = TARGETS
    out["met"] = {
        k: (v is not None and (v >= TARGETS[k] if k == "backfill_rows_per_s" else v <= TARGETS[k]))
        for k, v in figures.items()
    }
    out |= {
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "master": "local[2]",
        "total_s": round(time.perf_counter() - started, 1),
        "loadavg_start": load_start,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
