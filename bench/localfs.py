"""`file:` with Hadoop's classes against Weir's (`lake.localfs`), side by side: what a process per new file costs.

Without Hadoop's native library, Hadoop's local file system forks `chmod` for every file and directory it
creates; Weir's `io.weir.fs` classes set the same mode with one `chmod(2)`. Variants, in one Spark session,
each appending to its own growing Delta table (`lake.tables.ensure_table`, the stream's properties), in turn,
round after round, with the same rows:

- `hadoop`: what Spark uses without Weir's jar (Hadoop's service-loaded `file:` classes, `LocalFs` for
  FileContext);
- `weir`: `io.weir.fs.NioLocalFileSystem` and `NioLocalFs`, what `lake.session.build_session` selects.

The session switches between them per append (Hadoop's file system cache is keyed by scheme, not by class:
it is emptied and filled with the variant's instance first; FileContext, which Delta's log uses, reads the
session's setting each time). Each append: `--rows` rows, ~500 bytes each, `event_date` spread over `--dates`
UTC dates (a batch of year-spread events: one new file per date, most in a new directory at first), hash-
partitioned by `event_date` as the stream does.

    .venv/bin/python bench/localfs.py [--rounds 12] [--rows 2000] [--dates 365]

Last stdout line: one JSON object (medians and p90 per variant, the ratio, every append's seconds)."""

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
from weir.stack.jars import fetch, localfs_jar  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

VARIANTS = ("hadoop", "weir")
HADOOP_ABSTRACT_FS = "org.apache.hadoop.fs.local.LocalFs"


def log(message: str) -> None:
    print(f"[bench/localfs {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def switcher(spark: Any, file_system: str, abstract_file_system: str) -> Any:
    """A function that makes `file:` a variant's classes in `spark` and returns the FileSystem class now used."""
    jvm: Any = spark.sparkContext._jvm
    hadoop_conf: Any = spark.sparkContext._jsc.hadoopConfiguration()
    local_uri = jvm.java.net.URI("file:///")

    def use(variant: str) -> str:
        if variant == "weir":
            hadoop_conf.set("fs.file.impl", file_system)
            spark.conf.set("fs.AbstractFileSystem.file.impl", abstract_file_system)
        else:
            hadoop_conf.unset("fs.file.impl")
            spark.conf.set("fs.AbstractFileSystem.file.impl", HADOOP_ABSTRACT_FS)
        jvm.org.apache.hadoop.fs.FileSystem.closeAll()
        return str(jvm.org.apache.hadoop.fs.FileSystem.get(local_uri, hadoop_conf).getClass().getName())

    return use


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="appends per variant")
    parser.add_argument("--rows", type=int, default=2000, help="rows per append")
    parser.add_argument("--dates", type=int, default=365, help="UTC dates the rows of an append spread over")
    parser.add_argument("--warmup", type=int, default=2, help="rounds left out of the figures")
    args = parser.parse_args()
    started_load = load()
    home = Home.from_env().ensure()
    fetch("spark", home)
    if localfs_jar(home) is None:
        raise SystemExit("bench/localfs: no javac on PATH, so Weir's `file:` classes cannot be built")
    from pyspark.sql import functions as F

    from lake.appends import append
    from lake.localfs import ABSTRACT_FILE_SYSTEM, FILE_SYSTEM
    from lake.session import build_session
    from lake.tables import ensure_table

    spark = build_session(home.jars / "spark", app_name="weir-bench-localfs")
    use = switcher(spark, FILE_SYSTEM, ABSTRACT_FILE_SYSTEM)
    lake = Path(tempfile.mkdtemp(prefix="weir-bench-localfs-"))

    def rows(batch: int) -> Any:
        return spark.range(args.rows).select(
            F.md5(F.concat(F.lit(f"{batch}-"), F.col("id").cast("string"))).alias("event_id"),
            F.lit(batch).alias("batch"),
            F.repeat(F.lit("x"), 500).alias("payload"),
            F.date_sub(F.lit("2026-11-30").cast("date"), (F.rand(batch) * args.dates).cast("int")).alias("event_date"),
        )

    uris = {v: str(lake / v) for v in VARIANTS}
    classes: dict[str, str] = {}
    for variant, uri in uris.items():
        classes[variant] = use(variant)
        ensure_table(spark, uri, rows(0).schema, ["event_date"])
    log(f"file: classes: {classes}")
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for batch in range(args.rounds):
        df = rows(batch).cache()  # the same rows for every variant of the round
        df.count()
        order = VARIANTS if batch % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            use(variant)
            timed_round(seconds, [variant], lambda v: append(df, uris[v], partitions=["event_date"]))  # noqa: B023
        df.unpersist()
        log(round_line(batch + 1, args.rounds, seconds))
    files = {v: sum(1 for _ in (lake / v).rglob("*.parquet")) for v in VARIANTS}
    spark_version = str(spark.version)
    spark.stop()
    result = result_line(
        "localfs",
        args,
        seconds,
        spark_version,
        started_load,
        dates=args.dates,
        file_system_classes=classes,
        parquet_files=files,
    )
    med = result["median_s"]
    result["ratio_weir_over_hadoop"] = round(med["weir"] / med["hadoop"], 3)
    log(
        f"median per append: hadoop {med['hadoop']:.2f} s, weir {med['weir']:.2f} s "
        f"(weir/hadoop {result['ratio_weir_over_hadoop']})"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
