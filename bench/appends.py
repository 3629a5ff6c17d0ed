"""Idempotent appends of a micro-batch, side by side (issue #12, item 2): what making an append idempotent costs.

Variants, each appending to its own growing Delta table (created by `lake.tables.ensure_table`, so with the
stream's table properties), in turn, round after round:

- `txn`: `lake.tables.append_idempotent`, Delta's `txnAppId`/`txnVersion` (what the stream did before): Delta
  looks the app's last version up in the snapshot's state, a Spark job on every append.
- `marker`: `lake.appends.RunAppends`, what the stream does now: the first append of a run asks the history and
  Delta, later ones only carry a marker.
- `bare`: a plain append, nothing idempotent about it: the floor.

Each append: `--rows` rows shaped like a latency-profile batch (about 80% of today's date, the rest spread over
the 14 days before: late events), ~500 bytes each, hash-partitioned by `event_date` as the stream does.

    .venv/bin/python bench/appends.py [--rounds 30] [--rows 2000]

Last stdout line: one JSON object (medians and p90 per variant, the ratios, every append's seconds)."""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench._machine import load  # noqa: E402
from bench._variants import result_line, round_line, timed_round  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

VARIANTS = ("txn", "marker", "bare")


def log(message: str) -> None:
    print(f"[bench/appends {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="appends per variant")
    parser.add_argument("--rows", type=int, default=2000, help="rows per append")
    parser.add_argument("--warmup", type=int, default=2, help="rounds left out of the figures")
    args = parser.parse_args()
    started_load = load()
    home = Home.from_env().ensure()
    fetch("spark", home)
    from pyspark.sql import functions as F

    from lake.appends import RunAppends, append
    from lake.session import build_session
    from lake.tables import append_idempotent, ensure_table

    spark = build_session(home.jars / "spark", app_name="weir-bench-appends")
    lake = Path(tempfile.mkdtemp(prefix="weir-bench-appends-"))
    day = F.when(F.rand(7) < 0.8, F.lit(0)).otherwise((F.rand(11) * 14).cast("int") + 1)
    run = RunAppends("bench-appends")

    def rows(batch: int) -> Any:
        return spark.range(args.rows).select(
            F.md5(F.concat(F.lit(f"{batch}-"), F.col("id").cast("string"))).alias("event_id"),
            F.lit(batch).alias("batch"),
            F.repeat(F.lit("x"), 500).alias("payload"),
            F.date_sub(F.current_date(), day).alias("event_date"),
        )

    schema = rows(0).schema
    uris = {v: str(lake / v) for v in VARIANTS}
    for uri in uris.values():
        ensure_table(spark, uri, schema, ["event_date"])
    write = {
        "txn": lambda df, b: append_idempotent(df, uris["txn"], "bench-appends", b, partitions=["event_date"]),
        "marker": lambda df, b: run.append(df, uris["marker"], b, partitions=["event_date"]),
        "bare": lambda df, b: append(df, uris["bare"], partitions=["event_date"]),
    }
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for batch in range(args.rounds):
        df = rows(batch).cache()  # the same rows for every variant of the round
        df.count()
        timed_round(seconds, VARIANTS, lambda v: write[v](df, batch))  # noqa: B023 (called at once)
        df.unpersist()
        log(round_line(batch + 1, args.rounds, seconds))
    spark_version = str(spark.version)
    spark.stop()
    result = result_line("appends", args, seconds, spark_version, started_load)
    med = result["median_s"]
    result["ratio_marker_over_txn"] = round(med["marker"] / med["txn"], 3)
    result["ratio_bare_over_marker"] = round(med["bare"] / med["marker"], 3)
    log(
        f"median per append: txn {med['txn']:.2f} s, marker {med['marker']:.2f} s, bare {med['bare']:.2f} s "
        f"(marker/txn {result['ratio_marker_over_txn']})"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
