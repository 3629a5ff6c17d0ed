"""Streaming job benchmark, in one run:

(a) throughput through the job, events/s, with 50 row rules vs 0 rules on the same data: N order-like events
    (as the gateway publishes them; ~7% break rules, ~1% are duplicates) on a fresh 2-partition topic; the query
    runs in this process (`streaming.job.start_query(..., available_now=True)`) with `maxOffsetsPerTrigger`, a
    fresh lake and checkpoint per run, one Spark session; variants alternate 0, 50, 0, 50 (medians reported);
    events/s = N / wall time from `start_query` to termination; every run is reconciled (silver + quarantine
    = distinct events, bronze = N);
(b) end-to-end latency from the gateway's 202 to the row being readable in silver: a real gateway process and
    the real streaming job as a process (1-second trigger, the 50-rule contracts), events posted open-loop at a
    steady rate in small batches; readable = the Delta commit that added the row (`_delta_log`).

    .venv/bin/python bench/streaming.py [--quick] [--events 300000] [--latency-seconds 30]
                                        [--skip-throughput] [--skip-latency]

A private Kafka broker is started from the fetched jars (free ports) unless WEIR_KAFKA_BOOTSTRAP names one.
Targets on 2 cores (reported, never asserted): >= 30,000 events/s with 50 rules; latency p95 <= 3 s.
Progress goes to stderr; the last stdout line is one JSON object with every figure.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `python bench/streaming.py` puts bench/ first on sys.path, where this file would shadow the `streaming`
# package: import from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from confluent_kafka import Producer  # noqa: E402

from bench import _stream_data as data  # noqa: E402
from bench._kafka import start_broker  # noqa: E402
from bench._stream_latency import latency_phase  # noqa: E402
from ingest.admin import create_topics, wait_for_cluster  # noqa: E402
from ingest.producer import producer_config  # noqa: E402
from ingest.topics import EVENTS_TOPIC, TopicSpec, default_topics  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

TARGET_EPS = 30_000
TARGET_P95_S = 3.0
VARIANTS = ("rules_0", "rules_50")


def log(message: str) -> None:
    print(f"[bench/streaming {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> dict[str, Any]:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    return {"loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()], "uptime": uptime}


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Every record to `topic` with the gateway's producer settings; seconds taken."""
    producer = Producer(producer_config(bootstrap, client_id="weir-bench-streaming", delivery_timeout_ms=60_000))
    failed = [0]

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failed[0] += 1

    started = time.perf_counter()
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120) or failed[0]:
        raise SystemExit(f"could not produce the benchmark's events to {topic} ({failed[0]} failed)")
    return time.perf_counter() - started


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def throughput_phase(args: argparse.Namespace, state: Path, bootstrap: str, topics: dict[str, str]) -> dict[str, Any]:
    from bench._stream_throughput import run_once
    from lake.session import build_session
    from streaming.settings import StreamSettings

    log(f"generating {args.events:,} events")
    dataset = data.dataset(args.events)
    warm = data.dataset(min(20_000, max(2_000, args.events // 10)), seed=6)
    log(f"  {dataset.distinct:,} distinct, {dataset.duplicates:,} duplicates, {dataset.broken_quarantine:,} break")
    log(f"  a quarantine rule, {dataset.broken_warn:,} only warn rules; {dataset.mean_bytes:.0f} bytes on average")
    produced_s = produce(bootstrap, topics["events"], dataset.records)
    if not args.no_warmup:
        produce(bootstrap, topics["warmup"], warm.records)
    log(f"  produced in {produced_s:.1f} s")

    contracts = {
        "rules_0": data.write_contracts(state / "contracts-0", []),
        "rules_50": data.write_contracts(state / "contracts-50", data.rules_50()),
    }
    home = Home.from_env()
    spark = build_session(
        home.jars / "spark",
        app_name="weir-bench-streaming",
        shuffle_partitions=args.shuffle_partitions,
        driver_memory=args.driver_memory,
    )
    base = StreamSettings(
        home=state / "stream-a",
        kafka_bootstrap=bootstrap,
        events_topic=topics["events"],
        failures_topic=topics["failures"],
        max_offsets_per_trigger=args.max_offsets,
        shuffle_partitions=args.shuffle_partitions,
        starting_offsets="earliest",
    )
    work = state / "runs"
    try:
        warmup: dict[str, Any] | None = None
        if not args.no_warmup:
            log(f"warm-up: the 50-rule query over {len(warm.records):,} events (untimed)")
            warm_base = base.model_copy(update={"events_topic": topics["warmup"]})
            warmup = run_once(spark, warm_base, contracts["rules_50"], work, "warmup", warm.distinct, len(warm.records))
            log(f"  {warmup['wall_s']} s, reconciled={warmup['reconciled']}")
        runs: list[dict[str, Any]] = []
        for _ in range(args.repeats):
            for variant in VARIANTS:
                log(f"{variant}: {args.events:,} events, maxOffsetsPerTrigger {args.max_offsets:,}")
                run = run_once(spark, base, contracts[variant], work, variant, dataset.distinct, len(dataset.records))
                runs.append(run)
                log(f"  run: {json.dumps(run)}")
                log(
                    f"  {run['wall_s']} s, {run['events_per_s']:,} events/s, {run['batches']} batches, first batch"
                    f" at {run['first_batch_s']} s; silver {run['silver']:,} + quarantine {run['quarantine']:,};"
                    f" reconciled={run['reconciled']}"
                )
        spark_version = spark.version
    finally:
        spark.stop()

    def med(variant: str, key: str) -> float | None:
        values = [r[key] for r in runs if r["variant"] == variant and r[key] is not None]
        return median(values)

    summary = {
        v: {
            "wall_s": med(v, "wall_s"),
            "events_per_s": round(len(dataset.records) / med(v, "wall_s")),  # type: ignore[operator]
            "first_batch_s": med(v, "first_batch_s"),
            "setup_s": med(v, "setup_s"),
            "after_first_batch_events_per_s": med(v, "after_first_batch_events_per_s"),
        }
        for v in VARIANTS
    }
    ratio = summary["rules_50"]["wall_s"] / summary["rules_0"]["wall_s"]  # type: ignore[operator]
    return {
        "events": len(dataset.records),
        "distinct_events": dataset.distinct,
        "duplicates": dataset.duplicates,
        "break_quarantine_rules": dataset.broken_quarantine,
        "break_only_warn_rules": dataset.broken_warn,
        "mean_event_bytes": round(dataset.mean_bytes),
        "topic_partitions": 2,
        "max_offsets_per_trigger": args.max_offsets,
        "shuffle_partitions": args.shuffle_partitions,
        "driver_memory": args.driver_memory,
        "produce_s": round(produced_s, 2),
        "median": summary,
        "rules_50_over_rules_0_time": round(ratio, 3),
        "all_reconciled": all(r["reconciled"] for r in runs),
        "runs": runs,
        "warmup": {k: warmup[k] for k in ("wall_s", "events_per_s", "batches", "reconciled")} if warmup else None,
        "spark": spark_version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 10,000 events, one run per variant, no warm-up, 5 s of latency",
    )
    parser.add_argument("--events", type=int, default=300_000, help="events of the throughput phase")
    parser.add_argument("--max-offsets", type=int, default=100_000, help="maxOffsetsPerTrigger (throughput phase)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each variant (alternating)")
    parser.add_argument("--shuffle-partitions", type=int, default=2)
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="duration of the latency phase")
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s posted in the latency phase")
    parser.add_argument("--per-request", type=int, default=20, help="events per request in the latency phase")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--no-warmup", action="store_true", help="no untimed warm-up run before the timed runs")
    args = parser.parse_args()
    if args.quick:
        args.events, args.max_offsets, args.latency_seconds, args.repeats = 10_000, 4_000, 5.0, 1
        args.no_warmup = True

    started_load = load()
    log(f"load before: {started_load['uptime']}")
    home = Home.from_env().ensure()
    fetch("kafka", home)
    fetch("spark", home)
    state = Path(tempfile.mkdtemp(prefix="weir-bench-streaming-"))
    broker = start_broker(state / "kafka", home.jars, log)
    throughput: dict[str, Any] | None = None
    latency: dict[str, Any] | None = None
    try:
        bootstrap = broker.bootstrap if broker else os.environ["WEIR_KAFKA_BOOTSTRAP"]
        wait_for_cluster(bootstrap, timeout_s=60)
        suffix = uuid.uuid4().hex[:8]
        topics = {
            "events": f"weir-bench.stream.events.{suffix}",
            "warmup": f"weir-bench.stream.warmup.{suffix}",
            "failures": f"weir-bench.stream.dq-failures.{suffix}",
        }
        create_topics(bootstrap, [TopicSpec(name, 2) for name in topics.values()])
        if broker is not None:  # the gateway publishes to weir.events.v1: fresh on a private broker
            create_topics(bootstrap, default_topics(partitions=2))
        if not args.skip_throughput:
            throughput = throughput_phase(args, state, bootstrap, topics)
        if not args.skip_latency:
            contracts = data.write_contracts(state / "contracts-50-latency", data.rules_50())
            latency = latency_phase(args, state / "latency", bootstrap, contracts, topics["failures"], log)
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(state, ignore_errors=True)

    eps_50 = throughput["median"]["rules_50"]["events_per_s"] if throughput else None
    p95 = latency["latency"]["silver"].get("p95_s") if latency else None
    figures = {
        "bench": "streaming",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "spark": throughput["spark"] if throughput else None,
            "platform": platform.platform(),
        },
        "load_before": started_load,
        "load_after": load(),
        "quick": args.quick,
        "kafka": "private local broker" if broker is not None else "WEIR_KAFKA_BOOTSTRAP",
        "events_topic_for_gateway": EVENTS_TOPIC,
        "throughput": throughput,
        "latency": latency,
        "targets": {
            "rules_50_events_per_s>=30000": eps_50 >= TARGET_EPS if eps_50 is not None else None,
            "latency_p95_s<=3": p95 <= TARGET_P95_S if p95 is not None else None,
        },
    }
    log(f"load after: {figures['load_after']['uptime']}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
