"""The stream's per-event work without Kafka, Delta or the clock of a trigger: `lake.transforms.parse_events` and
`lake.routing.route` (the envelope, the 50-rule contract) over a static batch of `bench/_stream_data.py`'s shaped
records, persisted and counted as a micro-batch's first job does. Variants, in one session, in turn, round
after round, on the same Parquet input:

- `matchers`: the session as the stream has it (Weir's format matchers, when its jar is built);
- `regex`: every format check an `rlike` (`quality.engines.spark.matchers` off while the plan is built);
- `max_fields_40`: `spark.sql.codegen.maxFields` = 40 (projections wider than that leave whole-stage codegen);
- `no_whole_stage`: `spark.sql.codegen.wholeStage` = false;
- `huge_method_8000`: `spark.sql.codegen.hugeMethodLimit` = 8000.

    .venv/bin/python bench/lanes.py [--events 50000] [--rounds 4] [--variants matchers,regex,...]

Reports wall and CPU seconds (the Spark JVM's, from /proc) per variant; the last stdout line is one JSON object.
The verdict count (rows flagged, failures) must be the same for every variant."""

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench import _stream_data as data  # noqa: E402
from bench._machine import load, machine  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

SETTINGS: dict[str, dict[str, str]] = {
    "matchers": {},
    "regex": {},
    "max_fields_40": {"spark.sql.codegen.maxFields": "40"},
    "no_whole_stage": {"spark.sql.codegen.wholeStage": "false"},
    "huge_method_8000": {"spark.sql.codegen.hugeMethodLimit": "8000"},
}


def log(message: str) -> None:
    print(f"[bench/lanes {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=4, help="rounds of every variant; the first is left out")
    parser.add_argument("--variants", default=",".join(SETTINGS), help="comma-separated, from: " + ", ".join(SETTINGS))
    args = parser.parse_args()
    args.variants = args.variants.split(",")
    unknown = [v for v in args.variants if v not in SETTINGS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(SETTINGS)}")
    return args


def write_records(spark: Any, events: int, path: Path, now: datetime) -> None:
    """`events` shaped records as the Kafka source's rows, written once to Parquet."""
    records = data.dataset(events, seed=7).records
    rows = [(k, v, "weir.events.v1", i % 2, i // 2, now) for i, (k, v) in enumerate(records)]
    schema = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
    spark.createDataFrame(rows, schema).write.mode("overwrite").parquet(str(path))


class Lanes:
    """One variant's lane building, timed: wall and JVM CPU seconds, and the verdicts it counted."""

    def __init__(self, spark: Any, records: Path, contracts: Any, now: datetime) -> None:
        from bench._cpu import jvm_cpu

        self.spark, self.records, self.contracts, self.now = spark, records, contracts, now
        self.cpu = jvm_cpu(spark)

    def run(self, variant: str) -> tuple[float, float, tuple[int, int]]:
        from pyspark.sql import functions as F

        from lake.routing import route
        from lake.transforms import parse_events
        from quality.engines.spark import matchers

        spark = self.spark
        for key, value in SETTINGS[variant].items():
            spark.conf.set(key, value)
        try:
            batch = spark.read.parquet(str(self.records)).withColumn("batch_ts", F.lit(self.now).cast("timestamp"))
            with matchers.off(spark) if variant == "regex" else nullcontext():
                lanes = route(parse_events(batch), self.contracts).persist()
            t, c = time.perf_counter(), self.cpu()
            failed = F.size("failed_rules")
            row = lanes.agg(F.sum(F.when(failed > 0, 1).otherwise(0)), F.sum(failed)).first()
            wall, used = time.perf_counter() - t, self.cpu() - c
            lanes.unpersist()
        finally:
            for key in SETTINGS[variant]:
                spark.conf.unset(key)
        assert row is not None
        return wall, used, (int(row[0] or 0), int(row[1] or 0))


def summary(args: argparse.Namespace, wall: dict[str, list[float]], cpu_s: dict[str, list[float]]) -> dict[str, Any]:
    median_cpu = {v: round(statistics.median(s[1:] or s), 2) for v, s in cpu_s.items()}
    base = median_cpu[args.variants[0]]
    return {
        "median_s": {v: round(statistics.median(s[1:] or s), 3) for v, s in wall.items()},
        "median_cpu_s": median_cpu,
        f"cpu_over_{args.variants[0]}": {v: round(c / base, 3) if base else None for v, c in median_cpu.items()},
        "events_per_cpu_s": {v: round(args.events / c) if c else None for v, c in median_cpu.items()},
        "seconds": wall,
        "cpu_seconds": cpu_s,
    }


def main() -> int:
    args = parse_args()
    started_load = load()
    home = Home.from_env().ensure()
    fetch("spark", home)
    from lake.session import build_session
    from quality import load_contracts
    from quality.engines.spark import matchers

    spark = build_session(home.jars / "spark", app_name="weir-bench-lanes")
    has_matchers = spark.conf.get(matchers.REGISTERED_CONF, "false") == "true"
    if not has_matchers:
        log("no format matchers in this session (no javac when the jar was built): `matchers` is `regex`")
    work = Path(tempfile.mkdtemp(prefix="weir-bench-lanes-"))
    now = datetime.now(UTC)
    write_records(spark, args.events, work / "records", now)
    contracts = load_contracts(data.write_contracts(work / "contracts", data.rules_50()))
    lanes = Lanes(spark, work / "records", contracts, now)
    log(f"{args.events:,} shaped records written; variants {args.variants}, {args.rounds} rounds")
    wall: dict[str, list[float]] = {v: [] for v in args.variants}
    cpu_s: dict[str, list[float]] = {v: [] for v in args.variants}
    verdicts: dict[str, tuple[int, int]] = {}
    for round_ in range(args.rounds):
        for variant in args.variants if round_ % 2 == 0 else list(reversed(args.variants)):
            w, c, verdicts[variant] = lanes.run(variant)
            wall[variant].append(round(w, 3))
            cpu_s[variant].append(round(c, 2))
        log(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{v} {cpu_s[v][-1]:.1f} CPU s" for v in args.variants))
    spark_version = str(spark.version)
    spark.stop()
    figures = summary(args, wall, cpu_s)
    result: dict[str, Any] = {
        "benchmark": "lanes",
        "events": args.events,
        "rounds": args.rounds,
        "warmup_rounds": 1,
        "format_matchers": has_matchers,
        **figures,
        "flagged_rows_and_failures": verdicts,
        "same_verdicts": len(set(verdicts.values())) == 1,
        "machine": machine(spark_version),
        "load_before": started_load,
        "load_after": load(),
    }
    log(f"median CPU s: {figures['median_cpu_s']}; same verdicts: {result['same_verdicts']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
