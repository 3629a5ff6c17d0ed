"""lake.appends on real Delta tables: a run's appends, a new run after a crash (a replayed batch, a batch half
written), tables written before the markers, and other writers' commits in between."""

import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from lake.appends import RunAppends, marked_batch, marker
from lake.tables import append_idempotent

pytestmark = pytest.mark.integration

APP = "weir-stream-test"


def rows(spark, batch: int, n: int = 3):
    return spark.range(n).select(F.lit(batch).alias("batch"), F.col("id"), F.lit("2026-01-01").alias("event_date"))


def batches_in(spark, uri: str) -> list[int]:
    return sorted(r["batch"] for r in spark.read.format("delta").load(uri).select("batch").collect())


def commits(uri: str) -> list[dict[str, object]]:
    """Per commit: its `userMetadata` and its `txn` action (None without one)."""
    out = []
    for path in sorted(Path(uri, "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in path.read_text().splitlines()]
        info = next(a["commitInfo"] for a in actions if "commitInfo" in a)
        txn = next((a["txn"] for a in actions if "txn" in a), None)
        out.append({"user_metadata": info.get("userMetadata"), "txn": txn and (txn["appId"], txn["version"])})
    return out


def test_a_marker_names_its_app_and_batch_and_nothing_else_is_one() -> None:
    assert marked_batch(marker(APP, 17), APP) == 17
    assert marked_batch(marker(APP, 17), "other-app") is None
    assert marked_batch(marker(APP + "-2", 17), APP) is None
    assert marked_batch("weir-stream x batch 1 and more", "x") is None
    assert marked_batch(None, APP) is None


def test_a_run_asks_delta_once_per_table_then_marks_each_batch(spark, lake: str) -> None:
    uri = f"{lake}/t"
    run = RunAppends(APP)
    for batch in range(3):
        run.append(rows(spark, batch), uri, batch, partitions=["event_date"])
    assert batches_in(spark, uri) == [0] * 3 + [1] * 3 + [2] * 3
    assert commits(uri) == [
        {"user_metadata": marker(APP, 0), "txn": (APP, 0)},  # the run's first write: Delta's record too
        {"user_metadata": marker(APP, 1), "txn": None},
        {"user_metadata": marker(APP, 2), "txn": None},
    ]


def test_a_new_run_skips_the_batch_the_last_run_wrote_and_writes_the_next(spark, lake: str) -> None:
    uri = f"{lake}/t"
    crashed = RunAppends(APP)
    for batch in range(3):
        crashed.append(rows(spark, batch), uri, batch)
    restarted = RunAppends(APP)
    restarted.append(rows(spark, 2), uri, 2)  # Spark replays the batch it had not committed
    restarted.append(rows(spark, 3), uri, 3)
    assert batches_in(spark, uri) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3


def test_a_batch_half_written_before_a_crash_is_completed_only_where_it_is_missing(spark, lake: str) -> None:
    bronze, silver = f"{lake}/bronze", f"{lake}/silver"
    crashed = RunAppends(APP)
    for batch in range(5):
        crashed.append(rows(spark, batch), bronze, batch)
        crashed.append(rows(spark, batch), silver, batch)
    crashed.append(rows(spark, 5), bronze, 5)  # ... and the process dies before silver's append of batch 5
    restarted = RunAppends(APP)
    for uri in (bronze, silver):
        restarted.append(rows(spark, 5), uri, 5)
    expected = [b for b in range(6) for _ in range(3)]
    assert batches_in(spark, bronze) == expected
    assert batches_in(spark, silver) == expected


def test_a_table_written_before_the_markers_is_still_idempotent(spark, lake: str) -> None:
    """Delta's `txnAppId`/`txnVersion` alone (the writes before `RunAppends`): the new run's first write asks it."""
    uri = f"{lake}/t"
    for batch in range(8):
        append_idempotent(rows(spark, batch), uri, APP, batch)
    run = RunAppends(APP)
    run.append(rows(spark, 7), uri, 7)  # the replay: Delta's record says 7 is in
    run.append(rows(spark, 8), uri, 8)
    assert batches_in(spark, uri) == [b for b in range(9) for _ in range(3)]


def test_other_writers_commits_after_the_runs_last_batch_do_not_hide_it(spark, lake: str) -> None:
    uri = f"{lake}/t"
    crashed = RunAppends(APP)
    for batch in range(2):
        crashed.append(rows(spark, batch), uri, batch)
    for k in range(7):  # e.g. compactions and backfills, after the crash
        rows(spark, 100 + k, n=1).write.format("delta").mode("append").save(uri)
    restarted = RunAppends(APP, history_pages=(3,))  # history read 3 commits at a time, then all of it
    restarted.append(rows(spark, 1), uri, 1)
    restarted.append(rows(spark, 2), uri, 2)
    assert batches_in(spark, uri) == [0] * 3 + [1] * 3 + [2] * 3 + list(range(100, 107))
