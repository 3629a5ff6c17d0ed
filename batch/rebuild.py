"""What `weir backfill` and `weir replay` share: bronze turned back into routed first copies, and the MERGEs that
write them into silver and quarantine one `event_date` at a time, beside the running stream.

Reading (`route_range`): bronze rows become Kafka-like rows again and go through the stream's own transforms
(`lake.routing.prepare`, `lake.transforms.mark_first`) with today's contracts, so a verdict is the one the
stream would give today. The first copy of a `record_id` wins across *all* of bronze (a re-sent copy may carry
another `occurred_at`, so another `event_date`); to keep that cheap, one scan finds the candidate ids (a copy
in the range), a second takes only those ids' bronze rows (semi joins on `event_id`, or on the Kafka
coordinates for records without a usable id), and only those go through the rules and the window.

Writing (`merge_partition`), per `event_date` D, in this order, each one MERGE on the key whose condition holds
the partition predicate (`t.event_date = D`, and `t.event_type IN (...)` when filtered): it reads and rewrites
only that partition, in one commit, so a reader sees the old or the new partition. The source is the routed
first copies of D with `_in_s` / `_in_q` (the id is in silver's / quarantine's partition D now), computed
inside the MERGE's own transaction:

1. silver: matched & silver -> update; matched & quarantine & `_in_q` -> delete; not matched & silver & `_in_q`
   -> insert (a move from quarantine);
2. quarantine: matched & quarantine -> update; matched & silver & `_in_s` -> delete (it is in silver now);
   not matched & quarantine & `_in_s` -> insert (a move from silver);
3. silver again, only when ids move from silver to quarantine: their silver rows are deleted now that
   quarantine holds them.

A delete only ever removes an id the other table holds, and nothing inserts an id that is in neither table
(the stream wrote it to bronze and will insert it itself): a moving id is briefly in both tables, never in
neither, and a job that dies between two steps leaves work that the next run finishes. A MERGE that loses to a
concurrent commit in its partition (a stream append, a compaction) is computed again, up to
`settings.conflict_retries` times, then `ConflictError`. docs/batch/backfill.md says why this is safe.
"""

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from batch.exceptions import ConflictError
from batch.progress import Progress
from batch.settings import BatchSettings
from lake.publish import publish_failures
from lake.routing import QUARANTINE as Q_OUT
from lake.routing import SILVER as S_OUT
from lake.routing import event_date, prepare, to_failure_messages, to_quarantine, to_silver
from lake.schemas import table_schemas
from lake.tables import BRONZE, KEYS, QUARANTINE, SILVER, table_uri
from lake.transforms import FAILED_RULES, from_bronze, mark_first, parse_events
from observability.batch import JobMetrics
from quality import CompiledContract, load_contracts

DATE = "_date"  # the partition a record goes to (quarantine's rule: occurred_at, else received_at, else Kafka's)
OUTCOME, IN_S, IN_Q = "_outcome", "_in_s", "_in_q"
COORDS_PREFIX = "kafka:"
# A MERGE's source passes through this before the MERGE runs it (tests: commit something inside the MERGE).
SourceHook = Callable[[str, dt.date, DataFrame], DataFrame]


@dataclass(frozen=True)
class Scope:
    """What to rebuild: first copies whose `event_date` is in [date_from, date_to] (None: open), of
    `event_types` (empty: all), and for a replay only the record ids of `ids` (one column, `record_id`)."""

    date_from: dt.date | None
    date_to: dt.date | None
    event_types: tuple[str, ...] = ()
    ids: DataFrame | None = None

    def dates(self, col: Column) -> Column:
        cond = F.lit(True)
        if self.date_from is not None:
            cond = cond & (col >= F.lit(self.date_from))
        if self.date_to is not None:
            cond = cond & (col <= F.lit(self.date_to))
        return cond

    def types(self, col: Column) -> Column:
        return col.isin(*self.event_types) if self.event_types else F.lit(True)


@dataclass
class PartitionResult:
    event_date: dt.date
    silver: int = 0
    quarantine: int = 0
    moved_to_silver: int = 0
    moved_to_quarantine: int = 0
    not_yet_routed: int = 0  # in bronze, in neither table: the stream has not inserted it yet (left to it)
    retries: int = 0
    merges: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items()}


@dataclass
class Rebuilt:
    """What a rebuild did: the bronze rows it read, the messages it published, each partition's result."""

    rows_read: int = 0  # bronze copies of the rebuilt ids
    bronze_scanned: int = 0  # bronze rows scanned to find them
    first_copies: int = 0
    failures_published: int = 0
    partitions: list[PartitionResult] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(int(getattr(p, name)) for p in self.partitions)


def table_exists(spark: SparkSession, uri: str) -> bool:
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, uri))


# --- reading: bronze -> routed first copies --------------------------------------------------------------------


def _coords(df: DataFrame) -> Column:
    return F.concat(
        F.lit(COORDS_PREFIX), F.concat_ws("/", df["kafka_topic"], df["kafka_partition"], df["kafka_offset"])
    )


@dataclass
class Routed:
    """The routed first copies of a scope (persisted), the dates they fall on, and the figures of the read."""

    firsts: DataFrame
    dates: list[dt.date]
    rows_read: int
    bronze_scanned: int
    n_firsts: int
    n_failing: int
    _cached: list[DataFrame]

    def release(self) -> None:
        for df in self._cached:
            df.unpersist()


def route_range(
    spark: SparkSession, bronze_uri: str, contracts: dict[str, CompiledContract], scope: Scope, batch_ts: dt.datetime
) -> Routed:
    """Two scans of bronze: the candidate ids (one job, persisted), then their copies through the rules and
    `mark_first` (persisted with its figures in one job); the first copies in `scope` come out."""
    bronze = spark.read.format("delta").load(bronze_uri)
    light = parse_events(from_bronze(bronze, F.lit(batch_ts))).select(
        "record_id", "event_type", event_date("occurred_at", "received_at", "kafka_timestamp").alias(DATE)
    )
    if scope.ids is not None:
        light = light.join(F.broadcast(scope.ids.select("record_id").distinct()), "record_id", "left_semi")
    in_scope = light.where(scope.dates(F.col(DATE)) & scope.types(F.col("event_type")))
    candidates = in_scope.select("record_id").distinct().persist()
    if not candidates.count():  # one job: the candidate ids, kept
        candidates.unpersist()
        return Routed(spark.createDataFrame([], "record_id string"), [], 0, bronze.count(), 0, 0, [])
    usable = candidates.where(~F.col("record_id").startswith(COORDS_PREFIX))
    coords = candidates.where(F.col("record_id").startswith(COORDS_PREFIX))
    by_id = bronze.join(usable, bronze["event_id"] == usable["record_id"], "left_semi")
    by_coords = bronze.join(coords, _coords(bronze) == coords["record_id"], "left_semi")
    copies = prepare(from_bronze(by_id.unionByName(by_coords), F.lit(batch_ts)), contracts).join(
        candidates, "record_id", "left_semi"
    )
    marked = mark_first(copies).withColumn(DATE, event_date("occurred_at", "received_at", "kafka_timestamp"))
    marked = marked.persist()
    wanted = F.col("is_first") & scope.dates(F.col(DATE)) & scope.types(F.col("event_type"))
    # One job: the copies read and the dates of the first copies in scope (the rules run once, into the cache).
    row = marked.agg(
        F.count(F.lit(1)).alias("n"),
        F.collect_set(F.when(wanted, F.col(DATE))).alias("dates"),
        F.count(F.when(wanted, 1)).alias("firsts"),
        F.count(F.when(wanted & (F.size(FAILED_RULES) > 0), 1)).alias("failing"),
    ).first()
    firsts = marked.where(wanted)
    candidates.unpersist()
    rows_read = int(row["n"]) if row else 0
    dates = sorted(row["dates"]) if row else []
    failing = int(row["failing"]) if row else 0
    return Routed(firsts, dates, rows_read, bronze.count(), int(row["firsts"]) if row else 0, failing, [marked])


# --- writing: one MERGE per table per partition ----------------------------------------------------------------


def _quote(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


def partition_predicate(alias: str, day: dt.date, types: Sequence[str]) -> str:
    """The SQL predicate of `event_date = day` (and the event types), on the table `alias`."""
    pred = f"{alias}.event_date = DATE'{day.isoformat()}'"
    return f"{pred} AND {alias}.event_type IN ({_quote(types)})" if types else pred


def _keys(spark: SparkSession, uri: str, key: str, day: dt.date, types: Sequence[str], flag: str) -> DataFrame:
    t = spark.read.format("delta").load(uri).alias("t").where(partition_predicate("t", day, types))
    return t.select(F.col(key).alias(f"{flag}_key")).distinct().withColumn(flag, F.lit(True))


def flagged(rows: DataFrame, key: str, spark: SparkSession, lake: str, day: dt.date, types: Sequence[str]) -> DataFrame:
    """`rows` plus `_in_s` / `_in_q`: is the row's `key` in silver's / quarantine's partition `day` now. Lazy:
    evaluated when the MERGE runs its source, inside the MERGE's transaction."""
    out = rows
    for table, flag in ((SILVER, IN_S), (QUARANTINE, IN_Q)):
        ids = _keys(spark, table_uri(lake, table), KEYS[table], day, types, flag)
        out = out.join(ids, out[key] == ids[f"{flag}_key"], "left").drop(f"{flag}_key")
        out = out.withColumn(flag, F.coalesce(F.col(flag), F.lit(False)))
    return out


def sources(day_firsts: DataFrame) -> dict[str, DataFrame]:
    """Each table's MERGE source (before the flags): its own rows of the partition with `_outcome` = its
    outcome, plus the keys of the rows that go to the other table (`_outcome` = the other's), for the delete."""
    silver, quarantine = to_silver(day_firsts), to_quarantine(day_firsts)
    return {
        SILVER: silver.withColumn(OUTCOME, F.lit(S_OUT)).unionByName(
            quarantine.select(F.col(KEYS[QUARANTINE]).alias(KEYS[SILVER]), F.lit(Q_OUT).alias(OUTCOME)),
            allowMissingColumns=True,
        ),
        QUARANTINE: quarantine.withColumn(OUTCOME, F.lit(Q_OUT)).unionByName(
            silver.select(F.col(KEYS[SILVER]).alias(KEYS[QUARANTINE]), F.lit(S_OUT).alias(OUTCOME)),
            allowMissingColumns=True,
        ),
    }


# The column that tells a rebuilt row from the row it replaces when a replay updates only what changed.
VERDICT = {SILVER: "dq_warnings", QUARANTINE: FAILED_RULES}


def merge(
    spark: SparkSession,
    lake: str,
    table: str,
    day: dt.date,
    types: Sequence[str],
    source: DataFrame,
    *,
    only_changed: bool = False,
    deletes_only: bool = False,
) -> None:
    """One MERGE of `source` (flagged) into `table`'s partition `day`: see the module's docstring."""
    from delta.tables import DeltaTable

    key, uri = KEYS[table], table_uri(lake, table)
    mine, theirs = (S_OUT, Q_OUT) if table == SILVER else (Q_OUT, S_OUT)
    other = IN_Q if table == SILVER else IN_S
    target = DeltaTable.forPath(spark, uri)
    cols = [c for c in target.toDF().columns if c in source.columns]
    values: dict[str, str | Column] = {f"`{c}`": f"s.`{c}`" for c in cols}
    builder = target.alias("t").merge(
        source.alias("s"), f"t.`{key}` = s.`{key}` AND {partition_predicate('t', day, types)}"
    )
    if not deletes_only:
        changed = f" AND NOT (t.`{VERDICT[table]}` <=> s.`{VERDICT[table]}`)" if only_changed else ""
        builder = builder.whenMatchedUpdate(condition=f"s.{OUTCOME} = '{mine}'{changed}", set=values)
    builder = builder.whenMatchedDelete(condition=f"s.{OUTCOME} = '{theirs}' AND s.{other}")
    if not deletes_only:
        builder = builder.whenNotMatchedInsert(condition=f"s.{OUTCOME} = '{mine}' AND s.{other}", values=values)
    builder.execute()


def with_retries(attempt: Callable[[], None], retries: int, what: str) -> int:
    """Run `attempt` until it commits; a conflict with a concurrent commit runs it again (it recomputes its source
    and re-reads the partition), up to `retries` times. Returns the retries it took."""
    from delta import exceptions as dx

    conflicts = (
        dx.ConcurrentAppendException,
        dx.ConcurrentDeleteDeleteException,
        dx.ConcurrentDeleteReadException,
        dx.ConcurrentTransactionException,
        dx.ConcurrentWriteException,
        dx.DeltaConcurrentModificationException,
        dx.MetadataChangedException,
    )
    last = ""
    for n in range(retries + 1):
        try:
            attempt()
            return n
        except conflicts as exc:
            last = str(exc).splitlines()[0][:300]
    raise ConflictError(f"{what}: lost to concurrent writers {retries + 1} times (last: {last})")


def _figures(source: DataFrame, result: PartitionResult) -> tuple[bool, bool]:
    """Fill `result` from the flagged silver source (every first copy of the partition, keyed by its id); say
    whether silver and quarantine have anything to do (a row to rewrite, insert or delete)."""
    s, q = F.col(OUTCOME) == S_OUT, F.col(OUTCOME) == Q_OUT
    in_s, in_q = F.col(IN_S), F.col(IN_Q)
    row = source.agg(
        F.count(F.when(s & (in_s | in_q), 1)).alias("silver"),
        F.count(F.when(q & (in_s | in_q), 1)).alias("quarantine"),
        F.count(F.when(s & in_q & ~in_s, 1)).alias("moved_to_silver"),
        F.count(F.when(q & in_s & ~in_q, 1)).alias("moved_to_quarantine"),
        F.count(F.when(~(in_s | in_q), 1)).alias("not_yet_routed"),
        F.count(F.when(q & in_s & in_q, 1)).alias("silver_deletes"),  # a move a previous run left half done
        F.count(F.when(s & in_q, 1)).alias("quarantine_deletes"),
    ).first()
    if row is None:  # pragma: no cover - an aggregation has a row
        return False, False
    for name in ("silver", "quarantine", "moved_to_silver", "moved_to_quarantine", "not_yet_routed"):
        setattr(result, name, int(row[name]))
    return bool(row["silver"] or row["silver_deletes"]), bool(row["quarantine"] or row["quarantine_deletes"])


def merge_partition(
    spark: SparkSession,
    lake: str,
    day_firsts: DataFrame,
    day: dt.date,
    types: Sequence[str],
    *,
    retries: int,
    only_changed: bool = False,
    hook: SourceHook | None = None,
) -> PartitionResult:
    """Silver, quarantine, then silver's deletes of the ids that moved to quarantine (only when some did); each
    one MERGE, retried on a conflict."""
    started = time.monotonic()
    result = PartitionResult(day)
    raw = sources(day_firsts)

    def source(table: str, *, only: str | None = None) -> DataFrame:
        src = flagged(raw[table], KEYS[table], spark, lake, day, types)
        if only is not None:
            src = src.where(F.col(OUTCOME) == only)
        return hook(table, day, src) if hook is not None else src

    silver_work, quarantine_work = _figures(flagged(raw[SILVER], KEYS[SILVER], spark, lake, day, types), result)
    steps: list[tuple[str, str | None, bool]] = [
        *([(SILVER, None, False)] if silver_work else []),
        *([(QUARANTINE, None, False)] if quarantine_work else []),
        *([(SILVER, Q_OUT, True)] if result.moved_to_quarantine else []),
    ]
    for table, only, deletes_only in steps:

        def attempt(table: str = table, only: str | None = only, deletes_only: bool = deletes_only) -> None:
            merge(
                spark,
                lake,
                table,
                day,
                types,
                source(table, only=only),
                only_changed=only_changed,
                deletes_only=deletes_only,
            )

        result.retries += with_retries(attempt, retries, f"{table} {day}")
        result.merges += 1
    result.seconds = time.monotonic() - started
    return result


# --- the whole job ---------------------------------------------------------------------------------------------

Messages = Callable[[DataFrame], DataFrame]


def rebuild(
    spark: SparkSession,
    settings: BatchSettings,
    metrics: JobMetrics,
    job: str,
    scope: Scope,
    *,
    messages: Messages | None = None,
    only_changed: bool = False,
    hook: SourceHook | None = None,
) -> Rebuilt:
    """Route `scope` from bronze, publish a message per failing first copy (per first copy with `messages`, which
    makes them), and merge the first copies into silver and quarantine one `event_date` at a time."""
    from lake.tables import ensure_tables

    started = time.monotonic()
    ensure_tables(spark, settings.lake, table_schemas(spark))
    batch_ts = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    routed = route_range(spark, table_uri(settings.lake, BRONZE), load_contracts(settings.contracts), scope, batch_ts)
    out = Rebuilt(routed.rows_read, routed.bronze_scanned, routed.n_firsts)
    try:
        published = routed.n_firsts if messages is not None else routed.n_failing
        if published:
            make = messages or (lambda df: to_failure_messages(df, stage="backfill"))
            publish_failures(make(routed.firsts), settings.kafka_bootstrap, settings.failures_topic)
        out.failures_published = published
        with Progress(job, total=len(routed.dates), unit="partitions") as progress:
            for day in routed.dates:
                result = merge_partition(
                    spark,
                    settings.lake,
                    routed.firsts.where(F.col(DATE) == F.lit(day)),
                    day,
                    scope.event_types,
                    retries=settings.conflict_retries,
                    only_changed=only_changed,
                    hook=hook,
                )
                out.partitions.append(result)
                progress.advance(rows=result.silver + result.quarantine, what=day.isoformat())
            out.seconds = time.monotonic() - started
            progress.summary(
                f"{len(out.partitions)} partitions, {out.rows_read:,} bronze rows read, "
                f"{out.total('silver'):,} silver, {out.total('quarantine'):,} quarantine, "
                f"{out.total('retries')} retries"
            )
    finally:
        routed.release()
    _export(out, metrics, settings)
    return out


def _export(report: Rebuilt, metrics: JobMetrics, settings: BatchSettings) -> None:
    metrics.rows.labels(BRONZE, "read").inc(report.rows_read)
    metrics.rows.labels(SILVER, "silver").inc(report.total("silver"))
    metrics.rows.labels(QUARANTINE, "quarantine").inc(report.total("quarantine"))
    metrics.rows.labels(settings.failures_topic, "failure_published").inc(report.failures_published)
    for table in (SILVER, QUARANTINE):
        metrics.partitions.labels(table).set(len(report.partitions))
