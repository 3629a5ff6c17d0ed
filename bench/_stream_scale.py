"""Phase (b) of bench/streaming.py: micro-batch duration as silver grows (issue #12: at 20M rows <= 1.2x at 0).

Seeding: silver and quarantine get N rows laid out as the stream writes them: Kafka-shaped rows generated in
Spark (`spark.range`, an order envelope as JSON text, `occurred_at` spread over the 365 dates of the benchmark's
window, ~5% received days late), parsed and routed by the stream's own transforms (`lake.transforms.parse_events`,
`lake.routing.route`, `to_silver` / `to_quarantine`; a one-rule contract sends ~3% to quarantine) and appended to
the tables `lake.tables.ensure_tables` created, in appends of at most `SEED_APPEND_ROWS`, one file per date per
append (a compacted layout: a few files per date, not a stream's thousands of small ones). Ids are UUID-shaped
md5s of the row number, so any size is the same rows as the smaller ones plus more: a bigger seed starts from a
hard-linked copy of a smaller one.

A seeded lake is kept under `--seed-cache DIR` (`seed-v<version>-<rows>/`) and reused by later runs. A run never
writes into the cache: it works on a copy whose Parquet files are hard links and whose `_delta_log` is copied
(Delta never rewrites a data file, but it may overwrite `_last_checkpoint`).

Workload per size: the same fixed micro-batches of shaped events (`--scale-batches` x `--scale-batch-events`) on a
topic of their own, `start_query(..., available_now=True)` with `maxOffsetsPerTrigger` = the batch size and a
fresh checkpoint; figure: the median of the job's `BatchResult.seconds` (and of the query progress's
`triggerExecution`)."""

import json
import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from bench import _stream_data as data
from bench._stream_throughput import files_per_partition, latest_version

SEED_VERSION = 1
SEED_APPEND_ROWS = 5_000_000
QUARANTINE_PERCENT = 3  # rows of the seed that break the seed contract's one blocking rule
SEED_RULES = [
    {"id": "amount-non-negative", "rule": "non_negative", "field": "payload.amount", "severity": "quarantine"}
]


def _uuid(h: Column) -> Column:
    """A lowercase hyphenated UUID (version 4 layout) from a 32-hex-digit md5."""
    return F.concat_ws(
        "-",
        F.substring(h, 1, 8),
        F.substring(h, 9, 4),
        F.concat(F.lit("4"), F.substring(h, 14, 3)),
        F.concat(F.lit("8"), F.substring(h, 18, 3)),
        F.substring(h, 21, 12),
    )


def _ts(c: Column) -> Column:
    return F.date_format(c, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")


def kafka_rows(
    spark: SparkSession, first: int, last: int, start_epoch: int, topic: str, keep: Column | None = None
) -> DataFrame:
    """Rows `first`..`last`-1 (those where `keep`, on the row number `id`, holds) as the Kafka source would give
    them (gateway-stamped order envelopes)."""
    # One task per date (its partition id): each writes one file, and needs no big sort before the write.
    ids = spark.range(first, last, numPartitions=data.SPAN_DAYS)
    ids = ids if keep is None else ids.where(keep)  # before the projection: a row left out costs nothing
    h = F.md5(F.concat(F.lit("weir-seed-"), F.col("id").cast("string")))
    n = F.conv(F.substring(h, 25, 8), 16, 10).cast("long")
    occurred_s = F.lit(start_epoch) + F.spark_partition_id().cast("long") * 86400 + n % 86400
    late = (n % 1000) < int(data.LATE_SHARE * 1000)
    received_s = occurred_s + F.when(late, (1 + n % data.LATE_DAYS[1]) * 86400).otherwise(F.lit(2))
    occurred, received = F.timestamp_seconds(occurred_s), F.timestamp_seconds(received_s)
    sign = F.when(F.col("id") % 100 < QUARANTINE_PERCENT, F.lit("-")).otherwise(F.lit(""))
    subtotal = (n % 50_000 + 100) / 100
    payload = F.format_string(
        '{"order_id":"A-%d","customer_id":"%s","email":"u%d@example.com","amount":%s%.2f,"subtotal":%.2f,'
        '"tax":%.2f,"shipping":0.0,"currency":"EUR","country":"DE","status":"paid","quantity":%d,'
        '"sku":"SKU-%d-EU","channel":"web","ip":"10.1.%d.%d","created_at":"%s"}',
        n % 1_000_000_000,
        _uuid(F.md5(h)),
        n % 1_000_000,
        sign,
        subtotal * 1.19,
        subtotal,
        subtotal * 0.19,
        n % 9 + 1,
        n % 9000 + 1000,
        n % 256,
        n % 254 + 1,
        _ts(occurred),
    )
    value = F.format_string(
        '{"event_id":"%s","event_type":"%s","schema_version":1,"occurred_at":"%s","source":"checkout",'
        '"key":"customer-%d","payload":%s,"tenant":"%s","received_at":"%s"}',
        _uuid(h),
        F.lit(data.EVENT_TYPE),
        _ts(occurred),
        n % 10_000,
        payload,
        F.lit(data.TENANT),
        _ts(received),
    )
    return ids.select(
        F.lit(None).cast("binary").alias("key"),
        value.cast("binary").alias("value"),
        F.lit(topic).alias("topic"),
        (F.col("id") % 2).cast("int").alias("partition"),
        F.col("id").alias("offset"),
        received.alias("timestamp"),
        F.lit(0).alias("timestampType"),
        F.current_timestamp().alias("batch_ts"),
    )


def append_seed(spark: SparkSession, lake: str, first: int, last: int, start_epoch: int, contracts_dir: Path) -> None:
    """Rows `first`..`last`-1 into silver and quarantine, routed by the stream's transforms, in big appends."""
    from lake.routing import route, to_quarantine, to_silver
    from lake.schemas import table_schemas
    from lake.tables import QUARANTINE, SILVER, ensure_tables, table_uri
    from lake.transforms import parse_events
    from quality import load_contracts

    contracts = load_contracts(contracts_dir)
    ensure_tables(spark, lake, table_schemas(spark))
    quarantined = F.col("id") % 100 < QUARANTINE_PERCENT
    for lo in range(first, last, SEED_APPEND_ROWS):
        hi = min(last, lo + SEED_APPEND_ROWS)
        for name, keep, shape in ((SILVER, ~quarantined, to_silver), (QUARANTINE, quarantined, to_quarantine)):
            rows = kafka_rows(spark, lo, hi, start_epoch, "weir-bench.seed", keep)
            routed = route(parse_events(rows), contracts).withColumn("is_first", F.lit(True))
            shape(routed).write.format("delta").mode("append").save(table_uri(lake, name))


def link_copy(src: Path, dst: Path) -> None:
    """A copy of the lake `src` at `dst`: data files hard-linked, `_delta_log` contents copied."""
    for root, _dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        in_log = "_delta_log" in rel.parts
        for name in files:
            s, d = Path(root) / name, dst / rel / name
            if in_log:
                shutil.copy2(s, d)
            else:
                os.link(s, d)


def seeded_lake(
    spark: SparkSession, rows: int, cache: Path, contracts_dir: Path, log: Callable[[str], None]
) -> tuple[Path, dict[str, Any]]:
    """A lake whose silver + quarantine hold `rows` seed rows, from `cache` or seeded now (from the biggest smaller
    seed in `cache`); its directory and how it was made."""
    target = cache / f"seed-v{SEED_VERSION}-{rows}"
    marker = target / "seed.json"
    if marker.is_file():
        return target / "lake", {**json.loads(marker.read_text()), "cached": True}
    done = sorted(
        int(p.name.rsplit("-", 1)[1])
        for p in cache.glob(f"seed-v{SEED_VERSION}-*")
        if (p / "seed.json").is_file() and int(p.name.rsplit("-", 1)[1]) < rows
    )
    shutil.rmtree(target, ignore_errors=True)
    started = time.perf_counter()
    base, start_epoch = 0, int(data.window_start(_now()).timestamp())
    if done:
        base = done[-1]
        prev = cache / f"seed-v{SEED_VERSION}-{base}"
        start_epoch = json.loads((prev / "seed.json").read_text())["start_epoch"]
        link_copy(prev / "lake", target / "lake")
    log(f"  seeding rows {base:,}..{rows:,} into {target}")
    append_seed(spark, str(target / "lake"), base, rows, start_epoch, contracts_dir)
    info = {
        "rows": rows,
        "from_cached_rows": base,
        "seeded_rows": rows - base,
        "seed_s": round(time.perf_counter() - started, 1),
        "start_epoch": start_epoch,
    }
    marker.write_text(json.dumps(info))
    log(f"  seeded {rows - base:,} rows in {info['seed_s']} s ({(rows - base) / info['seed_s']:,.0f} rows/s)")
    return target / "lake", {**info, "cached": False}


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def table_rows(spark: SparkSession, lake: str) -> dict[str, int]:
    from lake.tables import QUARANTINE, SILVER, table_uri

    return {
        name.split("/")[0]: int(spark.read.format("delta").load(table_uri(lake, name)).count())
        for name in (SILVER, QUARANTINE)
    }


def run_size(
    spark: SparkSession,
    base: Any,
    rows: int,
    lake_src: Path | None,
    work: Path,
    contracts_50: Path,
    expected: dict[str, int],
) -> dict[str, Any]:
    """The fixed workload on a copy of the seeded lake (a fresh lake for 0 rows); its batch figures."""
    from streaming import job

    run_dir = work / f"size-{rows}"
    shutil.rmtree(run_dir, ignore_errors=True)
    lake = run_dir / "lake"
    copy_started = time.perf_counter()
    if lake_src is not None:
        link_copy(lake_src, lake)
    copy_s = time.perf_counter() - copy_started
    before = table_rows(spark, str(lake)) if lake_src is not None else {"silver": 0, "quarantine": 0}
    versions = {name: latest_version(lake / name / "events") for name in ("silver", "quarantine")}
    settings = base.model_copy(
        update={
            "contracts_dir": contracts_50,
            "lake_uri": str(lake),
            "checkpoint_dir": run_dir / "checkpoint",
            "stream_app_id": f"bench-scale-{rows}",
        }
    )
    results: list[Any] = []
    started = time.perf_counter()
    query: Any = job.start_query(spark, settings, available_now=True, on_batch=results.append)
    query.awaitTermination()
    wall = time.perf_counter() - started
    if query.exception() is not None:
        raise RuntimeError(f"the streaming query failed: {query.exception()}")
    triggers = [p.durationMs.get("triggerExecution", 0) / 1000 for p in query.recentProgress if p.numInputRows]
    after = table_rows(spark, str(lake))
    seconds = [round(r.seconds, 3) for r in results]
    added = {k: after[k] - before[k] for k in after}
    out = {
        "table_rows": rows,
        "silver_rows_before": before["silver"],
        "batches": len(results),
        "batch_s": seconds,
        "median_batch_s": round(statistics.median(seconds), 3) if seconds else None,
        "trigger_s": [round(t, 3) for t in triggers],
        "median_trigger_s": round(statistics.median(triggers), 3) if triggers else None,
        "wall_s": round(wall, 2),
        "lake_copy_s": round(copy_s, 2),
        "added": added,
        "reconciled": added == expected,
        "files": {name: files_per_partition(lake / name / "events", versions[name]) for name in versions},
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    return out
