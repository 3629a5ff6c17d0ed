"""The streaming query (`start_query`) and what it does with each micro-batch (`write_batch`).

Per micro-batch, in this order: parse the envelope and route the first copy of each event through its
contract's rules (one projection, `lake.routing`; which copies are first is `streaming.lanes`'); append every
record to bronze (idempotent: `lake.appends.RunAppends`); publish every failing event to the DQ-failure topic
(at-least-once: a replay publishes again); stop the query if a `fail` rule broke; append the new events to
quarantine and silver (idempotent too: a replay inserts nothing). Only then does Spark commit the batch's offsets
(and its deduplication state), so a crash at any point replays the batch and loses nothing.

The batch metrics are exported only once Spark has committed the batch (`BatchLedger`, fed by the query
listener's progress report), and once per batch id: a batch replayed after a crash is counted by the run that
commits it.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lake.appends import RunAppends
from lake.publish import publish_failures
from lake.routing import QUARANTINE as Q_OUTCOME
from lake.routing import SILVER as S_OUTCOME
from lake.routing import has_severity, prepare, route, to_failure_messages, to_quarantine, to_silver
from lake.schemas import table_schemas
from lake.tables import (
    BRONZE,
    ID,
    KEYS,
    PARTITIONS,
    QUARANTINE,
    SILVER,
    append_idempotent,
    ensure_tables,
    known_ids,
    table_uri,
    without_known,
)
from lake.transforms import BRONZE_COLUMNS, FAILED_RULES, mark_first, parse_events
from observability.metrics import (
    STREAM_BATCH_SECONDS,
    STREAM_BATCHES,
    STREAM_DQ_FAILURES,
    STREAM_LAST_BATCH_TIMESTAMP,
    STREAM_ROWS,
)
from quality import CompiledContract, load_contracts
from quality.exceptions import QualityError
from streaming.exceptions import ContractsError, DataQualityStop
from streaming.lanes import (
    LANE,
    RECEIVED,
    ROUTED,
    SOURCE_READS,
    batch_lanes,
    batch_timestamp,
    first_copies,
    state_lanes,
)
from streaming.listener import ProgressFigures
from streaming.settings import StreamSettings

log = logging.getLogger(__name__)

# The deduplication state: RocksDB (on local disk, off the JVM heap), whose changelog checkpointing uploads only
# the changes of each batch rather than a snapshot. No batches without data: the watermark moves with every batch
# (it is the batch's clock), and Spark would follow each with an empty one just to evict keys; a key is evicted by
# the next batch with data instead.
STATE_STORE_CONF = {
    "spark.sql.streaming.noDataMicroBatches.enabled": "false",
    "spark.sql.streaming.stateStore.providerClass": (
        "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
    ),
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
}


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    bronze_rows: int
    silver_rows: int
    quarantine_rows: int
    failures_published: int
    duplicates: int
    newest_received_at: datetime | None
    failures_by_rule: dict[tuple[str, str, str], int] = field(default_factory=dict)
    seconds: float = field(default=0.0, compare=False)  # wall time of the writes


@dataclass(frozen=True)
class BatchTarget:
    """Where a micro-batch goes. `check_tables`: leave out of silver and quarantine every id either table already
    holds, by reading both tables' ids (the `table` dedupe mode: exact for good, its cost grows with the tables);
    off when the query's deduplication state already dropped the copies (the `state` mode). `appends`: a
    streaming run's (`lake.appends.RunAppends`, one per start of the query); without it, each append is made
    idempotent by Delta's `txnAppId`/`txnVersion` alone (a static batch, a test's replay)."""

    lake: str
    app_id: str
    contracts: Mapping[str, CompiledContract]
    kafka_bootstrap: str
    failures_topic: str
    parallel: bool = True
    check_tables: bool = True
    appends: RunAppends | None = None

    def append(self, df: DataFrame, name: str, batch_id: int) -> None:
        """Batch `batch_id`'s rows `df` into table `name`, once."""
        uri, partitions = table_uri(self.lake, name), PARTITIONS[name]
        if self.appends is not None:
            self.appends.append(df, uri, batch_id, partitions=partitions)
        else:
            append_idempotent(df, uri, self.app_id, batch_id, partitions=partitions)


@dataclass(frozen=True)
class _Stats:
    total: int
    silver: int
    quarantine: int
    failing: int
    fails: int
    duplicates: int
    newest: datetime | None


def _stats(lanes: DataFrame) -> _Stats:
    """Every count of the batch in one aggregation (one Spark job)."""
    received, routed = F.col(LANE) == RECEIVED, F.col(LANE) == ROUTED
    silver, quarantine = routed & (F.col("outcome") == S_OUTCOME), routed & (F.col("outcome") == Q_OUTCOME)

    def n(cond: Column) -> Column:
        return F.sum(F.when(cond, 1).otherwise(0))

    row = lanes.agg(
        n(received).alias("total"),
        n(routed).alias("routed"),
        n(silver).alias("silver"),
        n(quarantine).alias("quarantine"),
        n(routed & (F.size(FAILED_RULES) > 0)).alias("failing"),
        n(routed & has_severity(F.col(FAILED_RULES), "fail")).alias("fails"),
        F.max(F.when(received, F.col("received_at"))).alias("newest"),
    ).first()
    if row is None or not row["total"]:
        return _Stats(0, 0, 0, 0, 0, 0, None)

    def count(name: str) -> int:
        return int(row[name] or 0)

    return _Stats(
        count("total"),
        count("silver"),
        count("quarantine"),
        count("failing"),
        count("fails"),
        count("total") - count("routed"),
        row["newest"],
    )


def _failures_by_rule(routed: DataFrame) -> dict[tuple[str, str, str], int]:
    exploded = routed.where(F.size(FAILED_RULES) > 0).select(
        F.coalesce(F.col("event_type"), F.lit("")).alias("event_type"), F.explode(FAILED_RULES).alias("f")
    )
    rows = exploded.groupBy("event_type", "f.rule", "f.severity").count().collect()
    return {(r["event_type"], r["rule"], r["severity"]): int(r["count"]) for r in rows}


def _raise_fail(routed: DataFrame, count: int) -> None:
    row = (
        routed.select("event_type", "event_id", F.explode(FAILED_RULES).alias("f"))
        .where(F.col("f.severity") == "fail")
        .orderBy("event_id", "f.rule")
        .first()
    )
    if row is None:  # pragma: no cover - the count said there was one
        return
    raise DataQualityStop(row["f"]["rule"], row["event_type"], row["event_id"], row["f"]["message"], count)


def _run(tasks: list[Callable[[], object]], parallel: bool) -> None:
    """Run `tasks`; in threads when `parallel` (each is its own Spark job or Delta commit, and their driver-side
    work, such as reading a table's log or committing, overlaps). Every task finishes; the first error is raised."""
    if not parallel or len(tasks) < 2:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="weir-write") as pool:
        futures = [pool.submit(task) for task in tasks]
        wait(futures)
    for future in futures:
        future.result()


def write_batch(batch: DataFrame, batch_id: int, target: BatchTarget) -> BatchResult:
    """One static batch of Kafka records (or a replay of one) into bronze, the DQ-failure topic, quarantine and
    silver; the first copy of each id in the batch is the one routed (`mark_first`)."""
    return write_lanes(batch_lanes(mark_first(prepare(batch, target.contracts))), batch_id, target)


def _inserts(routed: DataFrame, stats: _Stats, batch_id: int, target: BatchTarget) -> Callable[[], None]:
    """The inserts into quarantine and silver: an event goes to one table, once. With `check_tables`, the
    batch's ids already in silver or quarantine (the whole of both tables, read once for both inserts) are left
    out of both."""
    spark = routed.sparkSession
    uris = {name: table_uri(target.lake, name) for name in (SILVER, QUARANTINE)}
    rows = {QUARANTINE: to_quarantine(routed), SILVER: to_silver(routed)}
    wanted = [name for name, n in ((QUARANTINE, stats.quarantine), (SILVER, stats.silver)) if n]

    def blind() -> None:
        _run([partial(target.append, rows[n], n, batch_id) for n in wanted], target.parallel)

    def checked() -> None:
        candidates = routed.select(F.col("record_id").alias(ID))
        known = known_ids(spark, candidates, [(uris[name], KEYS[name]) for name in uris]).persist()
        try:
            known.count()  # materialised once: both inserts anti-join the cached ids
            _run(
                [partial(target.append, without_known(rows[n], KEYS[n], known), n, batch_id) for n in wanted],
                target.parallel,
            )
        finally:
            known.unpersist()

    return checked if target.check_tables else blind


def write_lanes(lanes: DataFrame, batch_id: int, target: BatchTarget) -> BatchResult:
    """One micro-batch in its two lanes (`streaming.lanes`) into bronze, the DQ-failure topic, quarantine and
    silver. The writes are independent of each other (each is idempotent, and a routed record is either a silver
    or a quarantine candidate), so they run concurrently; a `fail` rule lets only bronze and the failure topic
    happen. Exports no metric: see `BatchLedger`."""
    started = time.perf_counter()
    lanes = lanes.persist()
    by_rule: dict[tuple[str, str, str], int] = {}
    try:
        stats = _stats(lanes)
        if not stats.total:
            return BatchResult(batch_id, 0, 0, 0, 0, 0, None)
        received = lanes.where(F.col(LANE) == RECEIVED).select(*BRONZE_COLUMNS)
        routed = lanes.where(F.col(LANE) == ROUTED)

        def bronze() -> None:
            target.append(received, BRONZE, batch_id)

        def failures() -> None:
            by_rule.update(_failures_by_rule(routed))
            publish_failures(to_failure_messages(routed), target.kafka_bootstrap, target.failures_topic)

        first: list[Callable[[], object]] = [bronze, *([failures] if stats.failing else [])]
        if stats.fails:
            _run(first, target.parallel)
            _raise_fail(routed, stats.fails)
        _run([*first, _inserts(routed, stats, batch_id, target)], target.parallel)
    finally:
        lanes.unpersist()
    return BatchResult(
        batch_id,
        stats.total,
        stats.silver,
        stats.quarantine,
        stats.failing,
        stats.duplicates,
        stats.newest,
        by_rule,
        time.perf_counter() - started,
    )


def observe_batch(result: BatchResult, committed_at: float) -> None:
    """Export the figures of one committed batch (`committed_at`: when Spark committed it, Unix seconds)."""
    STREAM_BATCHES.inc()
    STREAM_ROWS.labels("bronze").inc(result.bronze_rows)
    STREAM_ROWS.labels("silver").inc(result.silver_rows)
    STREAM_ROWS.labels("quarantine").inc(result.quarantine_rows)
    STREAM_ROWS.labels("failure_published").inc(result.failures_published)
    STREAM_ROWS.labels("duplicate").inc(result.duplicates)
    for (event_type, rule, severity), count in result.failures_by_rule.items():
        STREAM_DQ_FAILURES.labels(event_type, rule, severity).inc(count)
    STREAM_BATCH_SECONDS.observe(result.seconds)
    STREAM_LAST_BATCH_TIMESTAMP.set(committed_at)


class BatchLedger:
    """The batches the job wrote, exported (`observe_batch`, then `on_committed`) once Spark committed them, once.

    `written` is called in `foreachBatch`, after the writes and before Spark commits the batch's offsets: the
    figures are only kept. `committed` is called with the id of a batch Spark committed (`on_progress`: the query
    listener's progress report, which Spark posts after the commit): every kept batch up to that id is exported,
    unless its id is not above the highest already counted for that query (a replay: counted once). A batch
    that fails or whose commit never happens is never exported; the run that replays and commits it counts it.
    Thread-safe (`foreachBatch` and the listener run on different threads)."""

    def __init__(
        self, on_committed: Callable[[BatchResult], None] | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.on_committed, self.clock = on_committed, clock
        self._lock = threading.Lock()
        self._written: dict[int, BatchResult] = {}
        self._counted: dict[str, int] = {}  # query id (kept in the checkpoint) -> highest batch id counted

    def written(self, result: BatchResult) -> None:
        with self._lock:
            self._written[result.batch_id] = result

    def committed(self, query_id: str, batch_id: int, committed_at: float) -> list[BatchResult]:
        """Spark committed batch `batch_id` of query `query_id`; the batches this exported."""
        with self._lock:
            done = sorted(b for b in self._written if b <= batch_id)
            highest = self._counted.get(query_id, -1)
            fresh = [r for b in done if (r := self._written.pop(b)).batch_id > highest]
            if fresh:
                self._counted[query_id] = fresh[-1].batch_id
        for result in fresh:
            observe_batch(result, committed_at)
            if self.on_committed is not None:
                self.on_committed(result)
        return fresh

    def on_progress(self, figures: ProgressFigures) -> None:
        """A progress report (`QueryMetricsListener`'s `on_progress`): its batch is committed."""
        if figures.batch_id is None or figures.query_id is None:
            return
        at = figures.committed_at if figures.committed_at is not None else self.clock()
        self.committed(figures.query_id, figures.batch_id, at)


def load_stream_contracts(settings: StreamSettings) -> dict[str, CompiledContract]:
    try:
        return load_contracts(settings.contracts)
    except QualityError as exc:
        raise ContractsError(f"the stream's contracts are broken:\n{exc}") from exc


def checkpoint_app_id(settings: StreamSettings) -> str:
    """The `txnAppId` of this query's idempotent writes: the configured app id plus a random part kept in the
    checkpoint. A new checkpoint (a reset, a new deployment) restarts batch ids at 0; with the same `txnAppId`
    Delta would silently skip every append until the batch ids passed the old ones."""
    marker = Path(settings.checkpoint) / "weir-app-id"
    if marker.is_file():
        return marker.read_text().strip()
    marker.parent.mkdir(parents=True, exist_ok=True)
    app_id = f"{settings.stream_app_id}-{uuid.uuid4()}"
    marker.write_text(app_id + "\n")
    return app_id


def source_reads(settings: StreamSettings) -> int:
    """How many times the query's plan reads the Kafka source (its progress reports count each read's rows)."""
    return SOURCE_READS if settings.stream_dedupe == "state" else 1


def start_query(
    spark: SparkSession,
    settings: StreamSettings,
    *,
    available_now: bool = False,
    on_batch: Callable[[BatchResult], None] | None = None,
    ledger: BatchLedger | None = None,
) -> object:
    """Start the streaming query (returned as pyspark's StreamingQuery). `on_batch` is called after each
    micro-batch's writes, before Spark commits its offsets; the `ledger` is told of each batch written then
    (and exports its metrics once the query listener reports the commit)."""
    contracts = load_stream_contracts(settings)
    ensure_tables(spark, settings.lake, table_schemas(spark))
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.events_topic)
        .option("startingOffsets", settings.starting_offsets)
        .option("failOnDataLoss", "true")
    )
    if settings.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
    app_id = checkpoint_app_id(settings)
    target = BatchTarget(
        settings.lake,
        app_id,
        contracts,
        settings.kafka_bootstrap,
        settings.failures_topic,
        settings.parallel_writes,
        check_tables=settings.stream_dedupe == "table",
        appends=RunAppends(app_id),
    )

    def each_batch(batch: DataFrame, batch_id: int) -> None:
        lanes = batch if settings.stream_dedupe == "state" else batch_lanes(mark_first(batch))
        result = write_lanes(lanes, batch_id, target)
        log.info(
            "batch %d: %d records; %d to silver, %d to quarantine, %d failures published, %d duplicates",
            batch_id,
            result.bronze_rows,
            result.silver_rows,
            result.quarantine_rows,
            result.failures_published,
            result.duplicates,
        )
        if ledger is not None:
            ledger.written(result)
        if on_batch is not None:
            on_batch(result)

    kafka = reader.load().withColumn("batch_ts", batch_timestamp())
    if settings.stream_dedupe == "state":
        for key, value in STATE_STORE_CONF.items():  # recorded in the checkpoint by the query's first start
            spark.conf.set(key, value)
        parsed = parse_events(kafka)
        source = state_lanes(parsed, route(first_copies(parsed, settings.dedupe_window_seconds), contracts))
    else:
        source = prepare(kafka, contracts)
    writer = (
        source.writeStream.queryName("weir-events")
        .option("checkpointLocation", settings.checkpoint)
        .foreachBatch(each_batch)
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
    )
    return writer.start()
