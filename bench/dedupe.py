"""Per-batch cost of the stream's insert into silver and quarantine as the tables grow: the whole-table id check
(`lake.tables.known_ids` then `insert_new`, what the job runs) next to the partition-pruned anti join it
replaced (ids read only in the batch's `event_date` partitions: cheaper, but blind to an event re-sent with an
`occurred_at` on another day).

    .venv/bin/python bench/dedupe.py [--rows 1000000,5000000] [--batch 20000] [--days 30] [--files 4] [--repeats 3]

Tables (a temporary lake, `$WEIR_HOME/bench` when set): silver with `--rows` rows over `--days` event_dates x 3
event_types, `--files` Parquet files per partition (a compacted table), and quarantine with 3% as many rows; they
grow in place from one size to the next. A batch is `--batch` events (93% silver and 7% quarantine candidates;
1% of the silver ones re-send an id already in silver, with an `occurred_at` in the newest 2 days like the rest).
Each round runs, on a fresh batch each, `whole_table` and `partition_pruned`: the id read, the anti joins and
both idempotent appends (concurrently, as the job does). One warm-up round, then `--repeats`; medians of wall and
Spark JVM CPU seconds. Reported per size: rows and files each variant reads, and how many re-sent ids each let in
again. Progress goes to stderr; the last stdout line is one JSON object.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

# `python bench/dedupe.py` puts bench/ first on sys.path: import the packages from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from bench._cpu import jvm_cpu  # noqa: E402
from lake.schemas import table_schemas  # noqa: E402
from lake.session import build_session  # noqa: E402
from lake.tables import (  # noqa: E402
    ID,
    KEYS,
    QUARANTINE,
    SILVER,
    append_idempotent,
    ensure_tables,
    insert_new,
    known_ids,
    table_uri,
)
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

TYPES = 3
NEWEST = datetime(2026, 11, 30, 12, tzinfo=UTC)  # the batch's events occurred on this day and the one before


def log(message: str) -> None:
    print(f"[bench/dedupe {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rows(base: DataFrame, days: int, table: str) -> DataFrame:
    """A row of `table` per row of `base` (a `long` column `id`, and `event_id` if given, else a random UUID),
    spread over `days` UTC days ending at NEWEST's."""
    seconds = (F.col("id") * 7919) % (days * 86_400)
    occurred = F.timestamp_seconds(F.lit(int(NEWEST.timestamp())) - seconds)
    event_id = F.col("event_id") if "event_id" in base.columns else F.expr("uuid()")
    base = base.select(
        event_id.alias("event_id"),
        F.concat(F.lit("bench.t"), (F.col("id") % TYPES).cast("string")).alias("event_type"),
        F.lit(1).cast("long").alias("schema_version"),
        occurred.alias("occurred_at"),
        F.lit("bench").alias("source"),
        F.lit(None).cast("string").alias("key"),
        F.lit('{"amount": 1}').alias("payload"),
        F.lit("bench").alias("tenant"),
        (occurred + F.expr("INTERVAL 1 SECOND")).alias("received_at"),
        F.to_date(occurred).alias("event_date"),
        (F.col("id") % 3).cast("int").alias("kafka_partition"),
        F.col("id").alias("kafka_offset"),
    )
    return shape(base, table)


def shape(base: DataFrame, table: str) -> DataFrame:
    """`base` (silver-like columns) in the columns and types of `table`."""
    schema = table_schemas(base.sparkSession)[table]
    extra = {
        "quarantine_id": F.col("event_id"),
        "dq_warnings": F.array().cast("array<struct<rule:string,severity:string,message:string>>"),
        "failed_rules": F.array(
            F.struct(
                F.lit("amount-in-range").alias("rule"),
                F.lit("quarantine").alias("severity"),
                F.lit("m").alias("message"),
            )
        ),
        "raw": F.lit(None),
        "kafka_topic": F.lit("weir.events.v1"),
        "quarantined_at": F.col("received_at"),
    }
    columns = [(extra.get(f.name, F.col(f.name)) if f.name not in base.columns else F.col(f.name)) for f in schema]
    return base.select(*(c.cast(f.dataType).alias(f.name) for c, f in zip(columns, schema.fields, strict=True)))


def grow(spark: SparkSession, lake: str, table: str, start: int, count: int, days: int, files: int) -> None:
    per_file = max(1, count // (days * (TYPES if table == SILVER else 1) * files))
    df = rows(spark.range(start, start + count), days, table)
    keys = ["event_date", "event_type"] if table == SILVER else ["event_date"]
    df.repartition(*keys).write.format("delta").mode("append").option("maxRecordsPerFile", per_file).save(
        table_uri(lake, table)
    )


class Batch:
    """One micro-batch's candidates, materialised before the clock starts (the job's batch is persisted too)."""

    def __init__(self, spark: SparkSession, start: int, size: int, resent: list[str]) -> None:
        n_quarantine = size * 7 // 100
        fresh = rows(spark.range(start, start + size - n_quarantine - len(resent)), 2, SILVER)
        again = spark.createDataFrame([(start + size + n, i) for n, i in enumerate(resent)], "id long, event_id string")
        silver = fresh.unionByName(rows(again, 2, SILVER)) if resent else fresh
        quarantine = rows(spark.range(start + 2 * size, start + 2 * size + n_quarantine), 2, QUARANTINE)
        self.silver, self.quarantine = silver.persist(), quarantine.persist()
        self.ids = (
            self.silver.select(F.col("event_id").alias(ID))
            .unionByName(self.quarantine.select(F.col("quarantine_id").alias(ID)))
            .persist()
        )
        self.silver_n, self.quarantine_n, self.ids_n = self.silver.count(), self.quarantine.count(), self.ids.count()
        self.dates = sorted({r[0] for r in self.silver.select("event_date").distinct().collect()})
        self.resent = resent

    def drop(self) -> None:
        for df in (self.silver, self.quarantine, self.ids):
            df.unpersist()


def both(tasks: list[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        for future in [pool.submit(t) for t in tasks]:
            future.result()


def whole_table(spark: SparkSession, lake: str, batch: Batch, version: int) -> float | None:
    """What `streaming.job.write_prepared` does: the known ids once, then both inserts; the seconds of the ids."""
    uris = {name: table_uri(lake, name) for name in (SILVER, QUARANTINE)}
    started = time.perf_counter()
    known = known_ids(spark, batch.ids, [(uris[n], KEYS[n]) for n in uris]).persist()
    known.count()
    ids_s = time.perf_counter() - started
    both(
        [
            lambda: insert_new(batch.silver, uris[SILVER], KEYS[SILVER], known, app_id="whole", version=version),
            lambda: insert_new(
                batch.quarantine, uris[QUARANTINE], KEYS[QUARANTINE], known, app_id="whole", version=version
            ),
        ]
    )
    known.unpersist()
    return ids_s


def _in_dates(dates: list[date]) -> str:
    return "event_date IN ({})".format(", ".join(f"DATE'{d.isoformat()}'" for d in dates))


def partition_pruned(spark: SparkSession, lake: str, batch: Batch, version: int) -> float | None:
    """The insert before: each table's ids and the other's, in the batch's `event_date` partitions only."""

    def ids_in(name: str) -> DataFrame:
        return spark.read.format("delta").load(table_uri(lake, name)).where(_in_dates(batch.dates))

    def insert(name: str, other: str, df: DataFrame) -> None:
        existing = ids_in(name).select(F.col(KEYS[name]).alias(ID))
        existing = existing.unionByName(ids_in(other).select(F.col(KEYS[other]).alias(ID)))
        new = df.join(existing, df[KEYS[name]] == existing[ID], "left_anti")
        append_idempotent(new, table_uri(lake, name), "pruned", version)

    both([lambda: insert(SILVER, QUARANTINE, batch.silver), lambda: insert(QUARANTINE, SILVER, batch.quarantine)])
    return None  # each insert reads its ids inside its own job


VARIANTS: dict[str, Callable[[SparkSession, str, Batch, int], float | None]] = {
    "whole_table": whole_table,
    "partition_pruned": partition_pruned,
}


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def measure_size(spark: SparkSession, lake: str, args: argparse.Namespace, state: dict[str, int]) -> dict[str, Any]:
    cpu = jvm_cpu(spark)
    silver = spark.read.format("delta").load(table_uri(lake, SILVER))
    quarantine = spark.read.format("delta").load(table_uri(lake, QUARANTINE))
    n_resent = args.batch // 100
    pool = [
        r[0]
        for r in silver.select("event_id")
        .where("event_date < DATE'2026-11-29'")
        .limit(n_resent * (args.repeats + 1) * len(VARIANTS))
        .collect()
    ]
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpus: dict[str, list[float]] = {v: [] for v in VARIANTS}
    again: dict[str, int] = dict.fromkeys(VARIANTS, 0)
    ids_s: list[float] = []
    dates: list[date] = []
    for round_ in range(args.repeats + 1):
        for name, variant in VARIANTS.items():
            resent, pool = pool[:n_resent], pool[n_resent:]
            state["next"] += 3 * args.batch
            state["version"] += 1
            batch = Batch(spark, state["next"], args.batch, resent)
            dates = batch.dates
            started, cpu_started = time.perf_counter(), cpu()
            ids = variant(spark, lake, batch, state["version"])
            wall, used = time.perf_counter() - started, cpu() - cpu_started
            batch.drop()
            if round_:  # the first round warms up
                times[name].append(wall)
                cpus[name].append(used)
                if ids is not None:
                    ids_s.append(ids)
            table = spark.read.format("delta").load(table_uri(lake, SILVER))
            copies = table.where(F.col("event_id").isin(resent)).count()
            again[name] += copies - len(resent)
            log(f"{name}: {wall:.2f} s wall, {used:.2f} s CPU; re-sent ids inserted again: {copies - len(resent)}")
    pruned = [silver.where(_in_dates(dates)), quarantine.where(_in_dates(dates))]
    return {
        "silver_rows": silver.count(),
        "quarantine_rows": quarantine.count(),
        "silver_files": len(silver.inputFiles()),
        "quarantine_files": len(quarantine.inputFiles()),
        "whole_table": {
            "wall_s_median": median(times["whole_table"]),
            "cpu_s_median": median(cpus["whole_table"]),
            "times_s": [round(t, 3) for t in times["whole_table"]],
            "id_read_s_median": median(ids_s),  # of the wall time: the known-ids job alone
            "rows_read_per_batch": silver.count() + quarantine.count(),  # each table's key column, once
            "files_read_per_batch": len(silver.inputFiles()) + len(quarantine.inputFiles()),
            "resent_ids_inserted_again": again["whole_table"],
        },
        "partition_pruned": {
            "wall_s_median": median(times["partition_pruned"]),
            "cpu_s_median": median(cpus["partition_pruned"]),
            "times_s": [round(t, 3) for t in times["partition_pruned"]],
            "rows_read_per_batch": 2 * sum(df.count() for df in pruned),  # both inserts read both tables' dates
            "files_read_per_batch": 2 * sum(len(df.inputFiles()) for df in pruned),
            "resent_ids_inserted_again": again["partition_pruned"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1000000,5000000", help="silver sizes to measure, comma-separated")
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--files", type=int, default=4, help="Parquet files per partition")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--driver-memory", default="2g")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.rows.split(","))
    home = Home.from_env().ensure()
    fetch("spark", home)
    load_start = [round(x, 2) for x in os.getloadavg()]
    work = Path(tempfile.mkdtemp(prefix="weir-bench-dedupe-"))
    spark = build_session(home.jars / "spark", app_name="weir-bench-dedupe", driver_memory=args.driver_memory)
    lake = str(work / "lake")
    results = []
    try:
        ensure_tables(spark, lake, {n: s for n, s in table_schemas(spark).items() if n in (SILVER, QUARANTINE)})
        state = {"next": 0, "version": 0}
        have = 0
        for size in sizes:
            started = time.perf_counter()
            grow(spark, lake, SILVER, state["next"], size - have, args.days, args.files)
            quarantine = (size - have) * 3 // 100
            grow(spark, lake, QUARANTINE, state["next"] + size, quarantine, args.days, args.files)
            state["next"] += 2 * size
            have = size
            log(f"tables at {size:,} silver rows in {time.perf_counter() - started:.0f} s; measuring")
            results.append(measure_size(spark, lake, args, state))
            log(json.dumps(results[-1]))
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "dedupe",
                "batch_events": args.batch,
                "days": args.days,
                "files_per_partition": args.files,
                "repeats": args.repeats,
                "sizes": results,
                "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
                "master": "local[2]",
                "loadavg_start": load_start,
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
