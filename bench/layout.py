"""Silver's physical layout, measured on a year of events written as the stream writes them (issue #11, item 0).

    .venv/bin/python bench/layout.py [--rows 2000000] [--batch 50000] [--layouts date_type,date,clustered,month]

Data (`_lake_data.py`): `--rows` records received over 365 days, 5% of them re-sent copies, 94% of events
occurring within 10 minutes of their receipt, 4% within 2 days and 2% late by up to a year; three event types.
Each layout's silver table gets the same micro-batches of `--batch` records (each received within ~`--batch`
ms, the batches spread evenly over the year), each as the stream leaves it: the
first copies that pass the rules, in 2 write tasks (the stream's 2 shuffle partitions), appended with
`lake.tables.append_idempotent`. Then two year-spread batches (events of the whole year posted at once: a
historical load through the gateway).

Layouts: `date_type` (today: partitioned by event_date, event_type), `date` (event_date only), `clustered`
(liquid clustering on event_date, event_type), `month` (partitioned by a generated `event_month`).

Measured per layout: append seconds and files written per steady and per year-spread batch; files after all
batches; the stream's id check (`lake.tables.known_ids`, the whole key column) for one batch; reads (every
column, a noop write) of one day and type, one day, one month and the whole table, before and after compaction;
OPTIMIZE (bin-packing; for `clustered`, clustering); an insert-only MERGE of one day's rows plus 1% new ones
restricted to that day, and a `replaceWhere` rewrite of that day (the two ways a backfill can write a day).
Ratios are to `date_type`. Progress goes to stderr; the last stdout line is one JSON object.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from bench._cpu import jvm_cpu  # noqa: E402
from bench._lake_data import START, envelope, to_silver  # noqa: E402
from lake.schemas import table_schemas  # noqa: E402
from lake.session import build_session  # noqa: E402
from lake.tables import ID, SILVER, append_idempotent, known_ids  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

LAYOUTS = ("date_type", "date", "clustered", "month")
BASELINE = "date_type"
DAY = START.date() + timedelta(days=200)  # a day well inside the year
TYPE = "order.created"


def log(message: str) -> None:
    print(f"[bench/layout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def create(spark: SparkSession, uri: str, layout: str) -> None:
    from delta.tables import DeltaTable

    builder = DeltaTable.create(spark).location(uri).addColumns(table_schemas(spark)[SILVER])
    if layout == "date_type":
        builder = builder.partitionedBy("event_date", "event_type")
    elif layout == "date":
        builder = builder.partitionedBy("event_date")
    elif layout == "clustered":
        builder = builder.clusterBy("event_date", "event_type")
    elif layout == "month":
        builder = builder.addColumn(
            "event_month", "STRING", generatedAlwaysAs="date_format(event_date, 'yyyy-MM')"
        ).partitionedBy("event_month")
    builder.execute()


def timed(fn: Callable[[], Any], cpu: Callable[[], float]) -> tuple[float, float, Any]:
    started, cpu_started = time.perf_counter(), cpu()
    out = fn()
    return time.perf_counter() - started, cpu() - cpu_started, out


def last_files_added(spark: SparkSession, uri: str) -> int:
    from delta.tables import DeltaTable

    metrics = DeltaTable.forPath(spark, uri).history(1).select("operationMetrics").first()[0]  # type: ignore[index]
    return int(metrics.get("numFiles") or metrics.get("numAddedFiles") or metrics.get("numTargetFilesAdded") or 0)


def table_files(spark: SparkSession, uri: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, uri).detail().select("numFiles").first()[0])  # type: ignore[index]


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def reads(spark: SparkSession, uri: str, layout: str, repeats: int, cpu: Callable[[], float]) -> dict[str, Any]:
    lo, hi = month_of(DAY)
    predicates = {
        "day_type": f"event_date = DATE'{DAY}' AND event_type = '{TYPE}'",
        "day": f"event_date = DATE'{DAY}'",
        "month": f"event_date >= DATE'{lo}' AND event_date <= DATE'{hi}'",
        "full": "true",
    }
    out: dict[str, Any] = {}
    for name, pred in predicates.items():

        def scan(p: str = pred) -> None:
            spark.read.format("delta").load(uri).where(p).write.format("noop").mode("overwrite").save()

        walls, cpus = [], []
        for _ in range(1 if name == "full" else repeats):
            wall, used, _ = timed(scan, cpu)
            walls.append(wall)
            cpus.append(used)
        df = spark.read.format("delta").load(uri).where(pred)
        out[name] = {
            "s": round(statistics.median(walls), 3),
            "cpu_s": round(statistics.median(cpus), 3),
            "files_read": len(df.inputFiles()),
            "rows": df.count(),
        }
    return out


def backfill_writes(spark: SparkSession, uri: str, layout: str, cpu: Callable[[], float]) -> dict[str, Any]:
    """An insert-only MERGE of the day's rows plus 1% new ones, restricted to the day; then a replaceWhere
    rewrite of the day with its rows (what a backfill can do with a rebuilt partition)."""
    from delta.tables import DeltaTable

    table = spark.read.format("delta").load(uri).where(f"event_date = DATE'{DAY}'")
    day = table.drop("event_month").persist()
    n = day.count()
    new = day.limit(max(1, n // 100)).withColumn("event_id", F.concat(F.lit("new-"), F.col("event_id")))
    source = day.unionByName(new).persist()
    source.count()
    cond = f"t.event_date = DATE'{DAY}' AND t.event_id = s.event_id"

    def merge() -> None:
        values = {c: f"s.{c}" for c in source.columns}  # named: a generated column (event_month) is Delta's
        DeltaTable.forPath(spark, uri).alias("t").merge(source.alias("s"), cond).whenNotMatchedInsert(
            values=values
        ).execute()

    merge_s, merge_cpu, _ = timed(merge, cpu)
    metrics = DeltaTable.forPath(spark, uri).history(1).select("operationMetrics").first()[0]  # type: ignore[index]
    rebuilt = spark.read.format("delta").load(uri).where(f"event_date = DATE'{DAY}'").drop("event_month").persist()
    rebuilt.count()
    where = f"event_date = DATE'{DAY}'"

    def replace() -> None:
        rebuilt.write.format("delta").mode("overwrite").option("replaceWhere", where).save(uri)

    replace_s, replace_cpu, _ = timed(replace, cpu)
    for df in (day, source, rebuilt):
        df.unpersist()
    return {
        "day_rows": n,
        "merge_s": round(merge_s, 3),
        "merge_cpu_s": round(merge_cpu, 3),
        "merge_inserted": int(metrics.get("numTargetRowsInserted", -1)),
        "merge_files_added": int(metrics.get("numTargetFilesAdded", -1)),
        "replace_day_s": round(replace_s, 3),
        "replace_day_cpu_s": round(replace_cpu, 3),
    }


def measure(spark: SparkSession, lake: Path, layout: str, args: argparse.Namespace) -> dict[str, Any]:
    from delta.tables import DeltaTable

    cpu = jvm_cpu(spark)
    uri = str(lake / layout)
    create(spark, uri, layout)
    batches = args.rows // args.batch
    appends: list[float] = []
    append_cpu: list[float] = []
    files: list[int] = []
    for b in range(batches):
        base = spark.range(b * args.batch, (b + 1) * args.batch, numPartitions=2)
        rows = to_silver(envelope(base, args.rows, window=args.batch))
        wall, used, _ = timed(lambda rows=rows, b=b: append_idempotent(rows, uri, "layout", b), cpu)
        appends.append(wall)
        append_cpu.append(used)
        files.append(last_files_added(spark, uri))
        if b % 10 == 0 or b == batches - 1:
            log(f"{layout}: batch {b + 1}/{batches}: {wall:.2f} s, {files[-1]} files")
    steady_files = table_files(spark, uri)
    spread: list[float] = []
    spread_files: list[int] = []
    for k in range(2):
        lo = args.rows + k * args.batch
        base = spark.range(lo, lo + args.batch, numPartitions=2)
        rows = to_silver(envelope(base, args.rows, window=args.batch, year_spread=True))
        wall, _, _ = timed(lambda rows=rows, k=k: append_idempotent(rows, uri, "layout", batches + k), cpu)
        spread.append(wall)
        spread_files.append(last_files_added(spark, uri))
    log(f"{layout}: year-spread batches {spread}, files {spread_files}")
    total_files = table_files(spark, uri)
    candidates = to_silver(envelope(spark.range(0, args.batch, numPartitions=2), args.rows, window=args.batch)).select(
        F.col("event_id").alias(ID)
    )
    candidates = candidates.persist()
    candidates.count()
    id_check_s, id_check_cpu, _ = timed(lambda: known_ids(spark, candidates, [(uri, "event_id")]).count(), cpu)
    candidates.unpersist()
    before = reads(spark, uri, layout, args.repeats, cpu)
    log(f"{layout}: reads before compaction {json.dumps({k: v['s'] for k, v in before.items()})}")
    optimize_s, optimize_cpu, _ = timed(lambda: DeltaTable.forPath(spark, uri).optimize().executeCompaction(), cpu)
    compacted_files = table_files(spark, uri)
    log(f"{layout}: OPTIMIZE {optimize_s:.1f} s, {total_files} -> {compacted_files} files")
    after = reads(spark, uri, layout, args.repeats, cpu)
    writes = backfill_writes(spark, uri, layout, cpu)
    log(f"{layout}: reads after {json.dumps({k: v['s'] for k, v in after.items()})}; backfill {json.dumps(writes)}")
    half = len(appends) // 2
    return {
        "append_s_median": round(statistics.median(appends), 3),
        "append_s_median_last_half": round(statistics.median(appends[half:]), 3),
        "append_cpu_s_median": round(statistics.median(append_cpu), 3),
        "append_s_total": round(sum(appends), 1),
        "files_per_batch_median": statistics.median(files),
        "files_per_batch_max": max(files),
        "files_after_batches": steady_files,
        "year_spread_append_s": [round(s, 3) for s in spread],
        "year_spread_files_per_batch": spread_files,
        "files_before_optimize": total_files,
        "id_check_s": round(id_check_s, 3),
        "id_check_cpu_s": round(id_check_cpu, 3),
        "read_before_optimize": before,
        "optimize_s": round(optimize_s, 3),
        "optimize_cpu_s": round(optimize_cpu, 3),
        "files_after_optimize": compacted_files,
        "read_after_optimize": after,
        "backfill_day": writes,
    }


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    base = results.get(BASELINE)
    if base is None:
        return {}

    def figures(r: dict[str, Any]) -> dict[str, float]:
        out = {
            "append": r["append_s_median"],
            "year_spread_append": statistics.mean(r["year_spread_append_s"]),
            "files_after_batches": r["files_after_batches"],
            "id_check": r["id_check_s"],
            "optimize": r["optimize_s"],
            "merge_day": r["backfill_day"]["merge_s"],
            "replace_day": r["backfill_day"]["replace_day_s"],
        }
        for when in ("before", "after"):
            for name, read in r[f"read_{when}_optimize"].items():
                out[f"read_{name}_{when}_optimize"] = read["s"]
        return out

    if "error" in base:
        return {}
    b = figures(base)
    return {
        layout: {k: round(v / b[k], 3) if b[k] else 0.0 for k, v in figures(r).items()}
        for layout, r in results.items()
        if layout != BASELINE and "error" not in r
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000, help="records received over the year")
    parser.add_argument("--batch", type=int, default=50_000, help="records per micro-batch")
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (non-full) read; the median counts")
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    layouts = [name for name in args.layouts.split(",") if name]
    unknown = set(layouts) - set(LAYOUTS)
    if unknown:
        parser.error(f"unknown layouts: {sorted(unknown)}")
    home = Home.from_env().ensure()
    fetch("spark", home)
    load_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="weir-bench-layout-", dir=os.environ.get("WEIR_HOME") and str(home.root)))
    spark = build_session(home.jars / "spark", app_name="weir-bench-layout", driver_memory=args.driver_memory)
    results: dict[str, dict[str, Any]] = {}
    try:
        for layout in layouts:
            try:
                results[layout] = measure(spark, work / "lake", layout, args)
            except Exception as exc:  # one layout failing is a result; the others still count
                results[layout] = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
            log(f"{layout}: {json.dumps(results[layout])}")
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "layout",
                "rows": args.rows,
                "batch": args.batch,
                "batches": args.rows // args.batch,
                "day": DAY.isoformat(),
                "layouts": results,
                "ratio_to_date_type": ratios(results),
                "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
                "master": "local[2]",
                "total_s": round(time.perf_counter() - started, 1),
                "loadavg_start": load_start,
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
