"""Generated-code compilations per micro-batch (issue #12), in one run:

(a) static batches: N shaped events (`_stream_data`) as Kafka rows, through the stream's parse and the 50-rule
    contract (`lake.transforms.parse_events`, `lake.routing.route`), cached and counted, `--runs` times; each run's
    `batch_ts` is either a new TIMESTAMP literal (what `current_timestamp()` becomes in a streaming plan) or
    `streaming.lanes.batch_timestamp()`; per run: seconds and Janino compilations (Spark's `CodegenMetrics`);
(b) the real streaming query (`streaming.job.start_query`, state mode, the 50 rules, `availableNow`) over
    `--stream-batches` micro-batches of `--batch-events` shaped events on a private broker; per batch: seconds
    and compilations. Run it with `--cache-entries 100` to see Spark's default generated-class cache.

    .venv/bin/python bench/compiles.py [--events 20000] [--runs 6] [--stream-batches 4] [--cache-entries 1000]

Progress goes to stderr; the last stdout line is one JSON object with every figure.
"""

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _stream_data as data
from bench._kafka import start_broker
from bench.streaming import produce
from ingest.admin import create_topics, wait_for_cluster
from ingest.topics import TopicSpec
from weir.stack.paths import Home


def log(message: str) -> None:
    print(f"[bench/compiles {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def compile_metric(spark: Any) -> Any:
    return spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()


def static_phase(spark: Any, args: argparse.Namespace, contracts: Any) -> dict[str, Any]:
    from pyspark.sql import functions as F

    from lake.routing import route
    from lake.transforms import parse_events
    from streaming.lanes import batch_timestamp

    metric = compile_metric(spark)
    records = data.dataset(args.events, seed=3).records
    rows = [(k, v, "weir.events.v1", 0, i, dt.datetime(2026, 12, 1)) for i, (k, v) in enumerate(records)]
    schema = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
    kafka = spark.createDataFrame(rows, schema).persist()
    kafka.count()
    out: dict[str, Any] = {}
    base = dt.datetime(2026, 12, 1, 12)
    for mode in ("literal", "batch_timestamp"):
        runs = []
        for i in range(args.runs):
            ts = base + dt.timedelta(seconds=i)
            batch_ts = F.lit(ts).cast("timestamp") if mode == "literal" else batch_timestamp()
            routed = route(parse_events(kafka.withColumn("batch_ts", batch_ts)), contracts).persist()
            before, started = metric.getCount(), time.perf_counter()
            routed.where(F.col("outcome").isNotNull()).count()
            runs.append({"s": round(time.perf_counter() - started, 3), "compiles": int(metric.getCount() - before)})
            routed.unpersist()
            log(f"static {mode} run {i}: {runs[-1]}")
        out[mode] = runs
    kafka.unpersist()
    return out


def stream_phase(spark: Any, args: argparse.Namespace, bootstrap: str, state: Path, contracts_dir: Path) -> Any:
    from streaming.job import BatchResult, start_query
    from streaming.settings import StreamSettings

    topic = f"weir-bench.compiles.{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [TopicSpec(topic, 2), TopicSpec(topic + ".failures", 2)])
    produce(bootstrap, topic, data.dataset(args.stream_batches * args.batch_events, seed=4).records)
    metric = compile_metric(spark)
    batches: list[dict[str, Any]] = []
    last = [metric.getCount(), time.perf_counter()]

    def on_batch(result: BatchResult) -> None:
        count, now = metric.getCount(), time.perf_counter()
        batches.append(
            {"batch_id": result.batch_id, "records": result.bronze_rows, "s": round(now - last[1], 2),
             "compiles": int(count - last[0])}
        )  # fmt: skip
        log(f"stream batch {batches[-1]}")
        last[0], last[1] = count, now

    settings = StreamSettings(
        home=state / "stream",
        kafka_bootstrap=bootstrap,
        events_topic=topic,
        failures_topic=topic + ".failures",
        max_offsets_per_trigger=args.batch_events,
        shuffle_partitions=2,
        starting_offsets="earliest",
        contracts_dir=contracts_dir,
    )
    query: Any = start_query(spark, settings, available_now=True, on_batch=on_batch)
    if not query.awaitTermination(1800):
        query.stop()
        raise SystemExit("the streaming query did not finish in 30 minutes")
    return batches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="events of each static batch")
    parser.add_argument("--runs", type=int, default=6, help="static batches per mode")
    parser.add_argument("--stream-batches", type=int, default=4)
    parser.add_argument("--batch-events", type=int, default=20_000)
    parser.add_argument("--cache-entries", type=int, help="spark.sql.codegen.cache.maxEntries (default: Weir's)")
    args = parser.parse_args()

    from pyspark.sql import SparkSession

    from lake.session import build_session
    from quality import load_contracts

    home = Home.from_env().ensure()
    state = Path(tempfile.mkdtemp(prefix="weir-bench-compiles-"))
    broker = start_broker(state / "kafka", home.jars, log)
    if args.cache_entries:  # the shared builder keeps it for build_session's getOrCreate
        SparkSession.builder.config("spark.sql.codegen.cache.maxEntries", str(args.cache_entries))
    spark = build_session(home.jars / "spark", app_name="weir-bench-compiles")
    try:
        bootstrap = broker.bootstrap if broker else os.environ["WEIR_KAFKA_BOOTSTRAP"]
        wait_for_cluster(bootstrap, timeout_s=60)
        contracts_dir = data.write_contracts(state / "contracts-50", data.rules_50())
        static = static_phase(spark, args, load_contracts(contracts_dir))
        stream = stream_phase(spark, args, bootstrap, state, contracts_dir)
    finally:
        spark.stop()
        if broker is not None:
            broker.stop()

    def after_first(runs: list[dict[str, Any]], key: str) -> list[Any]:
        return [r[key] for r in runs[1:]]

    print(
        json.dumps(
            {
                "bench": "compiles",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "events": args.events,
                "cache_entries": args.cache_entries or "weir default (lake.session)",
                "static": static,
                "static_s_after_first": {m: after_first(r, "s") for m, r in static.items()},
                "static_compiles_after_first": {m: sum(after_first(r, "compiles")) for m, r in static.items()},
                "stream_batches": stream,
                "stream_compiles_per_batch_after_first": after_first(stream, "compiles"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
