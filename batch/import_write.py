"""The writes of imported files, in Spark, the stream's way with two differences for a second writer.

Files with distinct names are written together (one routing, one read of the known ids, one MERGE per table;
each file its own bronze commit). The staged records become rows shaped like Kafka records (`value` = the
stamped record, `topic` = `import:<file name>`, `offset` = its line or row number, `timestamp` and `batch_ts` =
the import time), then `lake.routing.prepare` and `lake.transforms.mark_first`, as in the stream. Then, in order:

1. bronze: every record of a file, appended with `txnAppId = weir-import-<sha256 of the file>`,
   `txnVersion = 0`, so that Delta skips the append of a file it has already committed (whatever its name or path);
2. the failing events whose ids neither silver nor quarantine holds yet, published with `stage: backfill`;
3. quarantine, then silver: the rows whose id neither table holds (`lake.tables.known_ids`, the whole of both
   tables), inserted by an insert-only MERGE whose condition reads the partitions of the rows it inserts, so that
   Delta's conflict detection (Serializable, the only level OSS Delta has) sees a concurrent append into them (the
   stream's) and fails the commit; then the known ids are read again and the MERGE retried.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial, reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from batch.exceptions import ConflictError
from batch.import_files import StagedFile
from lake.publish import publish_failures
from lake.routing import QUARANTINE as Q_OUTCOME
from lake.routing import SILVER as S_OUTCOME
from lake.routing import prepare, to_failure_messages, to_quarantine, to_silver
from lake.tables import BRONZE, ID, KEYS, PARTITIONS, QUARANTINE, SILVER, append_idempotent, known_ids, table_uri
from lake.transforms import FAILED_RULES, mark_first, to_bronze
from quality import CompiledContract

USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
STAGE = "backfill"


@dataclass(frozen=True)
class Written:
    """What one file's import wrote: bronze rows (0 when Delta skipped the append: the file was imported before),
    rows inserted into silver and quarantine, failure messages published, and how many MERGEs were retried (on the
    first file of the group written together, the MERGEs being the group's)."""

    bronze: int
    silver: int
    quarantine: int
    failures: int
    already_imported: bool
    retries: int


@dataclass(frozen=True)
class Target:
    lake: str
    contracts: dict[str, CompiledContract]
    kafka_bootstrap: str
    failures_topic: str
    conflict_retries: int


def app_id(staged: StagedFile) -> str:
    return f"weir-import-{staged.sha256}"


def topic(staged: StagedFile) -> str:
    return f"import:{staged.path.name}"


def kafka_rows(spark: SparkSession, staged: StagedFile, imported_at: datetime) -> DataFrame:
    """The staged records as Kafka source rows (plus `batch_ts`), as `lake.routing.prepare` reads them."""
    parts = F.split(F.col("value"), "\t", 2)
    at = F.lit(imported_at).cast("timestamp")
    return spark.read.text(staged.staging.resolve().as_uri()).select(
        F.lit(None).cast("binary").alias("key"),
        parts.getItem(1).cast("binary").alias("value"),
        F.lit(topic(staged)).alias("topic"),
        F.lit(0).cast("int").alias("partition"),
        parts.getItem(0).cast("long").alias("offset"),
        at.alias("timestamp"),
        F.lit(0).cast("int").alias("timestampType"),
        at.alias("batch_ts"),
    )


def _version(spark: SparkSession, uri: str) -> int:
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, uri).history(1).select("version").first()
    return -1 if row is None else int(row["version"])


def append_bronze(spark: SparkSession, routed: DataFrame, uri: str, files: list[StagedFile]) -> set[str]:
    """Append each file's records to bronze once (one commit per file, its own txn); the topics of the files this
    call committed (the others Delta skipped: they were committed before). Each commit carries its txn id as
    `userMetadata`, which is how it is told apart from the stream's commits that may land meanwhile."""
    from delta.tables import DeltaTable

    before = _version(spark, uri)
    previous = spark.conf.get(USER_METADATA, None)
    try:
        for staged in files:
            spark.conf.set(USER_METADATA, app_id(staged))
            rows = routed.where(F.col("kafka_topic") == topic(staged))
            append_idempotent(to_bronze(rows), uri, app_id(staged), 0)
    finally:
        if previous is None:
            spark.conf.unset(USER_METADATA)
        else:
            spark.conf.set(USER_METADATA, previous)
    after = _version(spark, uri)
    if after == before:
        return set()
    history = DeltaTable.forPath(spark, uri).history(after - before).select("userMetadata").collect()
    ours = {row["userMetadata"] for row in history}
    return {topic(staged) for staged in files if app_id(staged) in ours}


def _within(column: str, values: list[object]) -> Column:
    present = [v for v in values if v is not None]
    cond = F.col(f"t.{column}").isin(present) if present else F.lit(False)
    return cond | F.col(f"t.{column}").isNull() if len(present) < len(values) else cond


def insert_only_merge(spark: SparkSession, uri: str, name: str, rows: DataFrame) -> int:
    """Insert `rows` whose key the table lacks, by a MERGE that reads exactly the partitions of `rows`; returns
    the rows inserted. Nothing to insert commits nothing. Raises Delta's concurrent-modification errors."""
    from delta.tables import DeltaTable

    key, columns = KEYS[name], PARTITIONS[name]
    parts = rows.select(*columns).distinct().collect()
    if not parts:
        return 0
    clauses = [F.col(f"t.{key}") == F.col(f"s.{key}")]
    clauses += [_within(c, sorted({p[c] for p in parts}, key=str)) for c in columns]
    condition = reduce(lambda a, b: a & b, clauses)
    result = (
        DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), condition).whenNotMatchedInsertAll().execute()
    )
    row = result.first()
    return 0 if row is None else int(row["num_inserted_rows"])


def _conflicts() -> tuple[type[BaseException], ...]:
    from delta import exceptions as d

    return (
        d.ConcurrentAppendException,
        d.ConcurrentDeleteReadException,
        d.ConcurrentDeleteDeleteException,
        d.ConcurrentWriteException,
        d.MetadataChangedException,
        d.ProtocolChangedException,
        d.DeltaConcurrentModificationException,
    )


class _Known:
    """The candidates' ids already in silver or quarantine, materialised; `refresh` reads them again."""

    def __init__(self, spark: SparkSession, candidates: DataFrame, tables: list[tuple[str, str]]) -> None:
        self.spark, self.candidates, self.tables = spark, candidates, tables
        self.ids = self._read()

    def _read(self) -> DataFrame:
        ids = known_ids(self.spark, self.candidates, self.tables).persist()
        ids.count()
        return ids

    def refresh(self) -> None:
        self.ids.unpersist()
        self.ids = self._read()

    def new(self, rows: DataFrame, key: str) -> DataFrame:
        ids = F.broadcast(self.ids)
        return rows.join(ids, rows[key] == ids[ID], "left_anti")


def _by_topic(rows: DataFrame) -> dict[str, int]:
    return {str(r["kafka_topic"]): int(r["count"]) for r in rows.groupBy("kafka_topic").count().collect()}


def _insert(
    spark: SparkSession, uri: str, name: str, routed: DataFrame, known: _Known, build: Callable[[DataFrame], DataFrame]
) -> dict[str, int]:
    """The first copies routed to `name` whose id neither table holds, inserted (`insert_only_merge`); their count
    per file (topic)."""
    outcome = Q_OUTCOME if name == QUARANTINE else S_OUTCOME
    new = known.new(routed.where(F.col("is_first") & (F.col("outcome") == outcome)), "record_id").persist()
    try:
        counts = _by_topic(new)
        if counts:
            insert_only_merge(spark, uri, name, build(new))
        return counts
    finally:
        new.unpersist()


def write_files(
    spark: SparkSession, files: list[StagedFile], imported_at: datetime, target: Target
) -> dict[str, Written]:
    """Import staged files whose names differ (one topic each), together: one routing, one read of the known ids,
    one MERGE per table; each file's own bronze commit. What was written, by topic (module docstring)."""
    if len({topic(f) for f in files}) != len(files):
        raise ValueError("files imported together need distinct names")
    rows = reduce(DataFrame.unionByName, [kafka_rows(spark, f, imported_at) for f in files])
    routed = mark_first(prepare(rows, target.contracts)).persist()
    uris = {name: table_uri(target.lake, name) for name in (BRONZE, SILVER, QUARANTINE)}
    retries = [0]
    try:
        committed = append_bronze(spark, routed, uris[BRONZE], files)
        candidates = routed.where(F.col("is_first")).select(F.col("record_id").alias(ID))
        known = _Known(spark, candidates, [(uris[n], KEYS[n]) for n in (SILVER, QUARANTINE)])
        try:
            failing = known.new(routed, "record_id").where(F.col("is_first") & (F.size(FAILED_RULES) > 0))
            published = _by_topic(failing)
            if published:
                publish_failures(
                    to_failure_messages(failing, stage=STAGE), target.kafka_bootstrap, target.failures_topic
                )
            inserted: dict[str, dict[str, int]] = {}
            for name, build in ((QUARANTINE, to_quarantine), (SILVER, to_silver)):
                insert = partial(_insert, spark, uris[name], name, routed, known, build)
                inserted[name] = _retrying(insert, name, known, target.conflict_retries, retries)
        finally:
            known.ids.unpersist()
    finally:
        routed.unpersist()
    out: dict[str, Written] = {}
    for staged in files:
        t = topic(staged)
        bronze = staged.rows if t in committed else 0
        silver, quarantine = inserted[SILVER].get(t, 0), inserted[QUARANTINE].get(t, 0)
        tried = retries[0] if staged is files[0] else 0  # the MERGEs are the group's: counted once
        out[t] = Written(bronze, silver, quarantine, published.get(t, 0), t not in committed, tried)
    return out


def _retrying(
    insert: Callable[[], dict[str, int]], name: str, known: _Known, retries: int, counter: list[int]
) -> dict[str, int]:
    """`insert()`; on a conflict, the known ids are read again (the concurrent writer may have inserted some of
    these ids, in this table or the other) and the insert retried."""
    for attempt in range(retries + 1):
        try:
            return insert()
        except _conflicts() as exc:
            if attempt == retries:
                raise ConflictError(
                    f"inserting into {name} lost to concurrent writers {retries + 1} times; nothing more was inserted"
                    f" there (run the import again: what is in already is not inserted twice): {exc}"
                ) from exc
            counter[0] += 1
            known.refresh()
    raise AssertionError("unreachable")  # pragma: no cover
