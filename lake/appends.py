"""A streaming query run's idempotent appends, without Delta's state reconstruction on every append.

Delta makes an append idempotent with `txnAppId`/`txnVersion`: before writing, it looks up the app's last
committed version in the snapshot's `setTransactions`. That lookup computes the snapshot's whole state (a Spark
job over the checkpoint and the commits after it, `SnapshotState.computedState`), on every append, because each
commit makes a new snapshot: ~1 s of a 2,000-event micro-batch's three appends on two cores (docs/performance.md,
issue #12, "Idempotent appends without Delta's state lookup").

`RunAppends` needs the lookup once per table per run of the query, not once per batch:

- **Within a run**, micro-batches are written in order and each once (`foreachBatch` does not retry a batch;
  a failed batch ends the run). Once the run has written (or found written) batch N of a table, any later batch
  is new there: it is appended with only a marker, `userMetadata = "weir-stream <app id> batch <N>"`, which costs
  nothing to write.
- **At a run's first write to a table**, the batch may be the replay of one the last run half wrote (a crash
  after bronze committed, before silver did). The newest commit of this app in the table's history says which
  batch it wrote last (history is read newest first, in growing pages, until a commit of this app turns up); a
  batch at or below that is skipped. Otherwise the batch is appended with `txnAppId`/`txnVersion` as well as the
  marker, so Delta also checks its own record: that covers tables written before the markers, and a history
  cut short by log cleanup (`delta.logRetentionDuration`, 30 days by default) after the last batch of a run.

What is left unchecked: a run that crashed mid-batch, then a restart after log cleanup removed every commit of
the crashed run except those older than its first batch. Delta's record then names the crashed run's first
batch, so a replay of its last batch could be appended again to the tables that already had it.
"""

import re
import threading
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

MARKER = "weir-stream"
HISTORY_PAGES = (100, 10_000)  # commits read at a time, newest first, then the whole history


def marker(app_id: str, version: int) -> str:
    return f"{MARKER} {app_id} batch {version}"


def marked_batch(user_metadata: str | None, app_id: str) -> int | None:
    """The batch id of `app_id`'s marker in a commit's `userMetadata`, or None (another writer's commit)."""
    if not user_metadata:
        return None
    found = re.fullmatch(rf"{re.escape(MARKER)} {re.escape(app_id)} batch (\d+)", user_metadata)
    return int(found.group(1)) if found else None


def last_marked_batch(spark: SparkSession, uri: str, app_id: str, pages: Sequence[int] = HISTORY_PAGES) -> int:
    """The highest batch `app_id` marked in the table's history (-1 when the history has none, or there is no
    table yet)."""
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, uri):
        return -1
    table = DeltaTable.forPath(spark, uri)
    for limit in (*pages, None):
        history = table.history(limit) if limit is not None else table.history()
        rows = history.select("userMetadata").collect()
        found = [b for b in (marked_batch(r["userMetadata"], app_id) for r in rows) if b is not None]
        if found:
            return max(found)
        if limit is not None and len(rows) < limit:
            break  # the whole history was read
    return -1


def append(
    df: DataFrame,
    uri: str,
    *,
    partitions: Sequence[str] | None = None,
    txn: tuple[str, int] | None = None,
    user_metadata: str | None = None,
) -> None:
    """Append `df` to the Delta table at `uri`.

    `partitions` (the table's partition columns): the rows are first hash-partitioned by them, so that each
    table partition gets one new file per append, however many dates the batch spans, instead of one per Spark
    task that holds rows of it. `txn` (`txnAppId`, `txnVersion`): Delta skips the write if it already committed
    that version for that app. `user_metadata`: the commit's `userMetadata`."""
    if partitions:
        df = df.repartition(*partitions)
    # A column the code added since the table was created (an upgrade) is added to the table, not refused.
    writer = df.write.format("delta").mode("append").option("mergeSchema", "true")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", txn[1])
    if user_metadata is not None:
        writer = writer.option("userMetadata", user_metadata)
    writer.save(uri)


class RunAppends:
    """The idempotent appends of one run of a streaming query (the module's docstring). Thread-safe: a batch
    appends to its tables from several threads, each table from one."""

    def __init__(self, app_id: str, *, history_pages: Sequence[int] = HISTORY_PAGES) -> None:
        self.app_id = app_id
        self.history_pages = history_pages
        self._done: dict[str, int] = {}  # table uri -> every batch up to this one is in the table
        self._lock = threading.Lock()

    def append(self, df: DataFrame, uri: str, version: int, *, partitions: Sequence[str] | None = None) -> None:
        """Append batch `version` of the query to `uri` unless its marker (or, at the run's first write to the
        table, Delta's own record of the app's versions) says it is there already."""
        with self._lock:
            done = self._done.get(uri)
        first = done is None
        if done is None:
            done = last_marked_batch(df.sparkSession, uri, self.app_id, self.history_pages)
        if version <= done:
            with self._lock:
                self._done[uri] = done
            return
        txn = (self.app_id, version) if first else None
        append(df, uri, partitions=partitions, txn=txn, user_metadata=marker(self.app_id, version))
        with self._lock:
            self._done[uri] = version
