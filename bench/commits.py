"""Per-micro-batch cost of the stream's writes, and which Delta and Spark settings make it cheaper (issue #12,
item 2: fewer and cheaper commits per micro-batch).

What is timed: `streaming.job.write_batch(kafka_rows, batch_id, BatchTarget(..., check_tables=False))`, the
stream's micro-batch write in the `state` dedupe mode (one aggregation, the idempotent bronze append, the
failures' publish to Kafka, the silver and quarantine appends, each repartitioned by the table's partition
columns, concurrently in threads), on static batches of Kafka-shaped records read from Parquet (one file per
batch, written once): order events from `_stream_data` (`occurred_at` over 365 dates, ~5% days late, ~1%
re-sent, ~7% breaking some of the 50 rules), checked by the 50-rule contract. Re-sends in another batch are
routed again (`write_batch` only drops copies within its batch; the stream's state would drop them earlier).

Each variant gets its own copy of a lake seeded once with `--seed-rows` rows (`--seed-calls` big `write_batch`
calls of Spark-generated events, `_stream_scale.kafka_rows`), its table properties set there (ALTER TABLE), then
`--batches` consecutive batches of each `--sizes` events. Batches are interleaved: batch i of every variant, in
an order reversed every other i, so machine noise is spread over all of them. Per variant and size: median, p95,
CPU seconds of the JVM per batch, the batches that wrote a Delta checkpoint (any table; a `*.checkpoint.parquet`
appeared) against those that did not, and new files per partition per commit. The variants are
`_commits_write.VARIANTS` plus `combined` (`--combine`); `no_repartition` runs a copy of the write without the
repartition (`_commits_write.write_plain`). A profile (untimed by the rest): one batch per size written step by
step (seconds per step), and the Spark jobs of one parallel `write_batch` with their durations.

    .venv/bin/python bench/commits.py [--sizes 2000,20000] [--batches 20] [--seed-rows 200000]
                                      [--variants baseline,...] [--combine a,b,...] [--quick]

A private Kafka broker (failures topic) is started unless WEIR_KAFKA_BOOTSTRAP names one. Progress on stderr; the
last stdout line is one JSON object with every figure.
"""

import argparse
import dataclasses
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench import _commits_write as cw  # noqa: E402
from bench import _stream_data as data  # noqa: E402
from bench._cpu import jvm_cpu  # noqa: E402
from bench._kafka import start_broker  # noqa: E402
from bench._machine import load, machine  # noqa: E402
from ingest.admin import create_topics, wait_for_cluster  # noqa: E402
from ingest.topics import TopicSpec  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

TABLES = ("bronze", "silver", "quarantine")
DEFAULT_COMBINE = "checkpoint_interval_100,checkpoint_stats_struct,stats_reader_columns"


def log(message: str) -> None:
    print(f"[bench/commits {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def write_batches(spark: Any, state: Path, size: int, batches: int, seed: int) -> list[str]:
    """`batches` batches of `size` shaped records as Parquet (one file each); their paths."""
    from lake.schemas import KAFKA_SOURCE_SCHEMA

    records = data.dataset(size * batches, seed=seed).records
    ts = datetime.now(UTC).replace(tzinfo=None)
    paths = []
    for i in range(batches):
        chunk = records[i * size : (i + 1) * size]
        rows = [(k, v, "weir-bench.commits", j % 2, i * size + j, ts, 0) for j, (k, v) in enumerate(chunk)]
        path = str(state / f"batches-{size}" / f"{i:03d}")
        spark.createDataFrame(rows, KAFKA_SOURCE_SCHEMA).coalesce(1).write.parquet(path)
        paths.append(path)
    return paths


def seed_lake(spark: Any, lake: Path, rows: int, calls: int, target_of: Any) -> float:
    """`rows` events into a fresh lake in `calls` big `write_batch` calls; seconds taken."""
    from bench._stream_scale import kafka_rows
    from lake.schemas import table_schemas
    from lake.tables import ensure_tables
    from streaming.job import write_batch

    started = time.perf_counter()
    ensure_tables(spark, str(lake), table_schemas(spark))
    start_epoch = int(data.window_start(datetime.now(UTC)).timestamp())
    step = -(-rows // calls)
    for k, lo in enumerate(range(0, rows, step)):
        hi = min(rows, lo + step)
        # One generator task per date (`kafka_rows`), then 2 partitions, as a micro-batch from a 2-partition
        # topic has (each task of `write_batch`'s jobs deserialises the 50-rule plan).
        rows_df = kafka_rows(spark, lo, hi, start_epoch, "weir-bench.seed").repartition(2)
        write_batch(rows_df, k, target_of(str(lake), "seed"))
        log(f"  seeded rows {lo:,}..{hi:,}")
    return time.perf_counter() - started


def prepare_lake(spark: Any, template: Path, lake: Path, variant: cw.Variant) -> dict[str, int]:
    """A copy of the seeded lake with the variant's table properties; each table's version then."""
    from bench._stream_scale import link_copy
    from bench._stream_throughput import latest_version

    link_copy(template, lake)
    versions = {}
    for name in TABLES:
        uri = str(lake / name / "events")
        cw.set_props(spark, uri, variant, spark.read.format("delta").load(uri).columns)
        versions[name] = latest_version(lake / name / "events")
    return versions


def run_batch(spark: Any, variant: cw.Variant, path: str, batch_id: int, target: Any) -> None:
    from streaming.job import write_batch

    with cw.Confs(spark, variant.conf):
        df = spark.read.parquet(path)
        target = dataclasses.replace(target, parallel=variant.parallel)
        if variant.repartition:
            write_batch(df, batch_id, target)
        else:
            cw.write_plain(df, batch_id, target, repartition=False)


def summary(rows: list[dict[str, Any]], lake: Path, versions: dict[str, int]) -> dict[str, Any]:
    secs = [r["s"] for r in rows]
    with_ckpt = [r["s"] for r in rows if r["checkpoints"]]
    without = [r["s"] for r in rows if not r["checkpoints"]]
    med_with, med_without = (
        statistics.median(with_ckpt) if with_ckpt else None,
        (statistics.median(without) if without else None),
    )
    return {
        "median_s": r3(statistics.median(secs)),
        "p95_s": r3(p95(secs)),
        "mean_s": r3(statistics.fmean(secs)),
        "cpu_median_s": r3(statistics.median(r["cpu_s"] for r in rows)),
        "batches_with_checkpoint": len(with_ckpt),
        "median_with_checkpoint_s": r3(med_with),
        "median_without_checkpoint_s": r3(med_without),
        "checkpoint_extra_s": r3(med_with - med_without) if med_with is not None and med_without is not None else None,
        "batch_s": [round(s, 3) for s in secs],
        "checkpoints": [r["checkpoints"] for r in rows],
        "files": {name: cw.files_per_partition(lake / name / "events", versions[name] + 1) for name in TABLES},
    }


def measure(
    spark: Any, args: argparse.Namespace, state: Path, template: Path, variants: list[cw.Variant], target_of: Any
) -> dict[str, Any]:
    cpu = jvm_cpu(spark)
    out: dict[str, Any] = {}
    for k, size in enumerate(args.sizes):
        batches = args.batches[min(k, len(args.batches) - 1)]
        log(f"size {size:,}: writing {batches} batches of shaped events")
        paths = write_batches(spark, state, size, batches, seed=size)
        warm = state / f"warm-{size}"
        prepare_lake(spark, template, warm, cw.VARIANTS["baseline"])
        for i in range(2):  # JIT, Delta log caches, the Kafka producer: untimed
            run_batch(spark, cw.VARIANTS["baseline"], paths[i], i, target_of(str(warm), "warm"))
        shutil.rmtree(warm, ignore_errors=True)
        lakes = {v.name: state / f"runs-{size}" / v.name for v in variants}
        versions = {v.name: prepare_lake(spark, template, lakes[v.name], v) for v in variants}
        rows: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
        for i, path in enumerate(paths):
            order = variants if i % 2 == 0 else variants[::-1]
            for v in order:
                lake = lakes[v.name]
                before = {n: cw.checkpoints(lake / n / "events") for n in TABLES}
                c0, t0 = cpu(), time.perf_counter()
                run_batch(spark, v, path, i, target_of(str(lake), f"bench-{v.name}"))
                seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
                wrote = [n for n in TABLES if cw.checkpoints(lake / n / "events") - before[n]]
                rows[v.name].append({"s": seconds, "cpu_s": cpu_s, "checkpoints": wrote})
            log(
                f"  size {size:,} batch {i}: "
                + ", ".join(
                    f"{v.name} {rows[v.name][-1]['s']:.2f}s{'*' if rows[v.name][-1]['checkpoints'] else ''}"
                    for v in variants
                )
            )
        per = {v.name: summary(rows[v.name], lakes[v.name], versions[v.name]) for v in variants}
        base = per.get("baseline", {}).get("median_s")
        base_p95 = per.get("baseline", {}).get("p95_s")
        for fig in per.values():
            fig["ratio_median_to_baseline"] = r3(fig["median_s"] / base) if base else None
            fig["ratio_p95_to_baseline"] = r3(fig["p95_s"] / base_p95) if base_p95 else None
        out[str(size)] = per
        shutil.rmtree(state / f"runs-{size}", ignore_errors=True)
    return out


def profile(spark: Any, args: argparse.Namespace, state: Path, template: Path, target_of: Any) -> dict[str, Any]:
    """One batch per size step by step, and the Spark jobs of one parallel `write_batch`."""
    from streaming.job import write_batch

    out: dict[str, Any] = {}
    for size in args.sizes:
        paths = (
            [str(p) for p in sorted((state / f"batches-{size}").iterdir())]
            if (state / f"batches-{size}").is_dir()
            else write_batches(spark, state, size, 2, seed=size)
        )
        lake = state / f"profile-{size}"
        prepare_lake(spark, template, lake, cw.VARIANTS["baseline"])
        steps: dict[str, float] = {}
        cw.write_plain(
            spark.read.parquet(paths[0]), 0, target_of(str(lake), "profile"), repartition=True, profile=steps
        )
        since = cw.last_job_id(spark)
        t = time.perf_counter()
        write_batch(spark.read.parquet(paths[1]), 1, target_of(str(lake), "profile"))
        wall = time.perf_counter() - t
        jobs = cw.spark_jobs(spark, since)
        out[str(size)] = {
            "sequential_steps_s": {k: round(v, 3) for k, v in steps.items()},
            "sequential_total_s": round(sum(steps.values()), 3),
            "parallel_write_batch_s": round(wall, 3),
            "parallel_jobs": jobs,
        }
        log(f"  profile {size:,}: steps {out[str(size)]['sequential_steps_s']}; parallel {wall:.2f}s, {len(jobs)} jobs")
        shutil.rmtree(lake, ignore_errors=True)
    return out


def parse_args() -> argparse.Namespace:
    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x]

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=ints, default=[2_000, 20_000], help="events per batch")
    parser.add_argument(
        "--batches", type=ints, default=[20], help="consecutive batches per variant, per size (the last repeats)"
    )
    parser.add_argument("--seed-rows", type=int, default=200_000, help="history in the tables before the batches")
    parser.add_argument("--seed-calls", type=int, default=4, help="write_batch calls that seed the history")
    parser.add_argument("--variants", default=",".join(cw.VARIANTS) + ",combined")
    parser.add_argument("--combine", default=DEFAULT_COMBINE, help="the variants merged into `combined`")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 sizes of 500/2000, 4 batches, 3 variants")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.batches, args.seed_rows, args.seed_calls = [500, 2_000], [4], 20_000, 1
        args.variants = "baseline,no_repartition,combined"
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a `kill` still stops the broker and cleans up
    started, load_before = time.perf_counter(), load()
    log(f"load before: {load_before['uptime']}")
    home = Home.from_env().ensure()
    fetch("kafka", home)
    fetch("spark", home)
    state = Path(tempfile.mkdtemp(prefix="weir-bench-commits-", dir=os.environ.get("WEIR_HOME")))
    broker = start_broker(state / "kafka", home.jars, log)
    combine = [n for n in args.combine.split(",") if n]
    names = [n for n in args.variants.split(",") if n]
    variants = [cw.combine(combine) if n == "combined" else cw.VARIANTS[n] for n in names]
    timings: dict[str, float] = {}
    try:
        bootstrap = broker.bootstrap if broker else os.environ["WEIR_KAFKA_BOOTSTRAP"]
        wait_for_cluster(bootstrap, timeout_s=60)
        failures = f"weir-bench.commits.dq-failures.{uuid.uuid4().hex[:8]}"
        create_topics(bootstrap, [TopicSpec(failures, 2)])
        from lake.session import build_session
        from quality import load_contracts
        from streaming.job import BatchTarget

        spark = build_session(home.jars / "spark", app_name="weir-bench-commits", driver_memory=args.driver_memory)
        contracts = load_contracts(data.write_contracts(state / "contracts-50", data.rules_50()))

        def target_of(lake: str, app: str) -> Any:
            return BatchTarget(lake, app, contracts, bootstrap, failures, check_tables=False)

        template = state / "seeded"
        log(f"seeding {args.seed_rows:,} rows in {args.seed_calls} write_batch calls")
        timings["seed"] = round(seed_lake(spark, template, args.seed_rows, args.seed_calls, target_of), 1)
        t = time.perf_counter()
        results = measure(spark, args, state, template, variants, target_of)
        timings["measure"] = round(time.perf_counter() - t, 1)
        prof = None
        if not args.no_profile:
            t = time.perf_counter()
            prof = profile(spark, args, state, template, target_of)
            timings["profile"] = round(time.perf_counter() - t, 1)
        spark_version = spark.version
        session_conf = {
            k: spark.conf.get(k, None)
            for k in (
                "spark.sql.shuffle.partitions",
                "spark.sql.adaptive.enabled",
                "spark.databricks.delta.snapshotPartitions",
            )
        }
        spark.stop()
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(state, ignore_errors=True)
    figures: dict[str, Any] = {
        "bench": "commits",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(spark_version),
        "load_before": load_before,
        "load_after": load(),
        "args": dict(vars(args).items()),
        "session_conf": session_conf,
        "variants": {
            v.name: {
                "conf": v.conf,
                "props": v.props,
                "repartition": v.repartition,
                "stats_columns": list(cw.READER_COLUMNS) if v.stats_columns else None,
            }
            for v in variants
        },
        "combined_of": combine,
        "phase_s": {**timings, "total": round(time.perf_counter() - started, 1)},
        "results": results,
        "profile": prof,
    }
    log(f"load after: {figures['load_after']['uptime']}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
