"""Consumer lag of the streaming job, measured from outside the query so that it rises while no batch runs.

`LagMonitor` is a daemon thread that, every `interval_s`, compares each partition's high watermark with the end
offset of the last batch Spark committed, and reads the Kafka timestamp of the oldest record not yet committed.
The committed offsets are those of the newest committed batch, from the query's checkpoint (`offsets/<N>` of the
newest `commits/<N>`; before the first commit, the initial offsets in `sources/0/0`; before those exist, the
configured starting offsets) or from the query listener's progress report (`on_progress`, posted after the
commit), whichever names the later batch. A committed offset above the partition's high watermark belongs to a
topic since deleted and re-created: the partition counts from the new topic's start until a later batch commits.
When records wait but the timestamp of one of them cannot be read, the age is unknown (NaN), not 0, and the tick
counts as failed. Kafka errors never stop the thread: they are logged, counted in `weir_stream_lag_errors_total`,
and retried next tick.
"""

import contextlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, TopicPartition

from observability.metrics import (
    STREAM_COMMITTED_OFFSET,
    STREAM_LAG_CHECKS,
    STREAM_LAG_ERRORS,
    STREAM_LAG_LAST_CHECK_TIMESTAMP,
    STREAM_NEWEST_RECEIVED_AGE,
    STREAM_OFFSETS_BEHIND,
    STREAM_OFFSETS_BEHIND_TOTAL,
    STREAM_OLDEST_UNPROCESSED_AGE,
)
from streaming.listener import ProgressFigures, TopicPartitionOffsets, kafka_offsets

log = logging.getLogger(__name__)

EARLIEST, LATEST = -2, -1  # Spark's placeholders in a startingOffsets JSON
INITIAL_BATCH, STARTING_BATCH = -1, -2  # the batch ids given to `sources/0/0` and to the starting offsets


# The checkpoint ------------------------------------------------------------------------------------------------
def _log_entries(path: Path) -> list[str]:
    """The lines after the version line of one of Spark's metadata-log files (`offsets/N`, `sources/0/0`); `[]`
    when the file is missing, unreadable or not such a file. The Kafka source prefixes its file with a NUL byte."""
    try:
        text = path.read_bytes().lstrip(b"\x00").decode()
    except (OSError, UnicodeDecodeError):
        return []
    lines = text.splitlines()
    if not lines or not lines[0].startswith("v"):
        return []
    return lines[1:]


def _topic_offsets(value: object, topic: str, depth: int = 0) -> dict[int, int] | None:
    """`{topic: {"0": 1}}` found in `value` (or, for offset-log formats keyed by source name, one level down)."""
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get(topic), Mapping):
        return {p: o for (t, p), o in kafka_offsets({topic: value[topic]}).items() if t == topic}
    if depth == 0:
        for nested in value.values():
            if (found := _topic_offsets(nested, topic, 1)) is not None:
                return found
    return None


def offsets_file(path: Path, topic: str) -> dict[int, int] | None:
    """The `topic`'s partition offsets recorded in one offset-log (or source-log) file; None if it has none."""
    for line in _log_entries(path):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if (found := _topic_offsets(value, topic)) is not None:
            return found
    return None


def batch_ids(directory: Path) -> list[int]:
    """The batch ids of a metadata log directory (`commits/`, `offsets/`), newest first; temporary and `.crc`
    files are not batches."""
    try:
        return sorted((int(p.name) for p in directory.iterdir() if p.name.isdigit()), reverse=True)
    except OSError:
        return []


def batch_end_offsets(checkpoint: Path, batch_id: int, topic: str) -> dict[int, int] | None:
    """The end offsets of batch `batch_id` (what it reads up to, exclusive), from `offsets/<batch_id>`."""
    return offsets_file(checkpoint / "offsets" / str(batch_id), topic)


def committed_batch(checkpoint: Path, topic: str) -> tuple[int, dict[int, int]] | None:
    """Where the query resumes: its newest committed batch's id and end offsets; before any commit, the initial
    offsets it resolved (`sources/0/0`, as batch `INITIAL_BATCH`); None for an empty or missing checkpoint."""
    for batch_id in batch_ids(checkpoint / "commits"):
        if (offsets := batch_end_offsets(checkpoint, batch_id, topic)) is not None:
            return batch_id, offsets
    initial = offsets_file(checkpoint / "sources" / "0" / "0", topic)
    return None if initial is None else (INITIAL_BATCH, initial)


def starting_offsets(spec: str, topic: str, low: Mapping[int, int], high: Mapping[int, int]) -> dict[int, int]:
    """The offsets a new query starts from, given Spark's `startingOffsets` option (`earliest`, `latest` or the
    JSON form with -2/-1 for earliest/latest) and the partitions' watermarks."""
    spec = spec.strip()
    if spec == "latest":
        return dict(high)
    if spec.startswith("{"):
        given = {p: o for (t, p), o in kafka_offsets(spec).items() if t == topic}
        return {
            p: high[p] if given.get(p) == LATEST else low[p] if given.get(p, EARLIEST) == EARLIEST else given[p]
            for p in low
        }
    return dict(low)


# The monitor ---------------------------------------------------------------------------------------------------
class CommittedBatch(Protocol):
    """What the monitor needs of the job's `BatchResult`."""

    @property
    def newest_received_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class LagReading:
    """One tick's measurements."""

    offsets_behind: dict[int, int]
    committed: dict[int, int]
    oldest_unprocessed_age_s: float
    newest_received_age_s: float
    at: float = field(default_factory=time.time)

    @property
    def total(self) -> int:
        return sum(self.offsets_behind.values())


class LagError(Exception):
    """A tick could not measure the lag; `stage` says which step failed."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(f"{stage}: {message}")


class LagMonitor:
    """Measures the job's lag on the events topic every `interval_s`, in a daemon thread (`start`, `stop`)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        checkpoint: Path,
        *,
        starting: str = "earliest",
        interval_s: float = 2.0,
        kafka_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bootstrap, self.topic, self.checkpoint, self.starting = bootstrap, topic, checkpoint, starting
        self.interval_s, self.kafka_timeout_s, self.clock = interval_s, kafka_timeout_s, clock
        self.last: LagReading | None = None
        self._lock = threading.Lock()
        self._batch: int | None = None  # the batch whose end offsets `_committed` holds
        self._committed: dict[int, int] = {}
        self._reset: dict[int, int] = {}  # partition -> the batch whose offset was above the high watermark
        self._exported: set[int] = set()  # partitions with exported gauges
        self._newest_received: datetime | None = None
        self._timestamps: dict[tuple[int, int], float] = {}  # (partition, offset) -> Kafka timestamp, seconds
        self._consumer: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        for gauge in (STREAM_OFFSETS_BEHIND_TOTAL, STREAM_OLDEST_UNPROCESSED_AGE, STREAM_NEWEST_RECEIVED_AGE):
            gauge.set(math.nan)  # unknown until the first measurement, rather than a reassuring 0

    # Called by the job and the listener (other threads): cheap, never raise ------------------------------------
    def batch_committed(self, result: CommittedBatch) -> None:
        """Spark committed a micro-batch (the job's `BatchLedger` says so): its newest `received_at` is kept."""
        with self._lock:
            newest = result.newest_received_at
            if newest is not None:
                newest = newest.astimezone(UTC)  # a naive datetime is local time, as pyspark returns it
                if self._newest_received is None or newest > self._newest_received:
                    self._newest_received = newest

    def on_progress(self, figures: ProgressFigures) -> None:
        """A progress report (`QueryMetricsListener`): Spark committed batch `figures.batch_id`."""
        if figures.batch_id is not None:
            self.offsets_committed(figures.batch_id, figures.end_offsets)

    def offsets_committed(self, batch_id: int, end_offsets: TopicPartitionOffsets) -> None:
        """Spark committed batch `batch_id`, ending at `end_offsets`."""
        self._record(batch_id, {p: o for (t, p), o in end_offsets.items() if t == self.topic})

    def _record(self, batch_id: int, offsets: Mapping[int, int]) -> None:
        """Keep the end offsets of the newest batch (the same batch again replaces them: the later report wins).
        Not a per-partition maximum: offsets move back when the topic is re-created."""
        if not offsets:
            return
        with self._lock:
            if self._batch is None or batch_id >= self._batch:
                self._batch, self._committed = batch_id, dict(offsets)

    # The thread ------------------------------------------------------------------------------------------------
    def start(self) -> "LagMonitor":
        self._thread = threading.Thread(target=self._run, name="weir-lag-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._tick()
                self._stop.wait(self.interval_s)
        finally:
            self.close()

    def _tick(self) -> None:
        try:
            self.check()
        except Exception as exc:
            stage = exc.stage if isinstance(exc, LagError) else "unexpected"
            STREAM_LAG_ERRORS.labels(stage).inc()
            if not self._failing:  # the first failure of a run at WARNING, the rest at DEBUG: no log flood
                log.warning("lag check failed, retrying every %.0f s: %s", self.interval_s, exc)
            else:
                log.debug("lag check failed: %s", exc)
            self._failing = True
            if not isinstance(exc, LagError):
                self._consumer_reset()  # a fresh client next tick; librdkafka reconnects by itself otherwise
        else:
            if self._failing:
                log.info("lag check recovered")
            self._failing = False

    def close(self) -> None:
        self._consumer_reset()

    # One measurement -------------------------------------------------------------------------------------------
    def check(self) -> LagReading:
        """Measure once and export the gauges (raises `LagError` when Kafka or the checkpoint cannot answer; the
        offsets behind are exported even when the timestamps cannot be read)."""
        low, high = self._watermarks()
        committed = self._committed_now(low, high)
        behind = {p: max(0, high[p] - committed.get(p, low[p])) for p in high}
        positions = {p: max(committed.get(p, low[p]), low[p]) for p, lag in behind.items() if lag > 0}
        try:
            stamps = self._record_timestamps(positions)
            if unknown := sorted(set(positions) - set(stamps)):
                raise LagError("timestamps", f"no timestamp on the oldest record not committed of partitions {unknown}")
        except LagError:
            self._export_offsets(behind, committed)  # the counts are right even when the ages are unknown
            STREAM_OLDEST_UNPROCESSED_AGE.set(math.nan)  # records wait and their age is unknown: not 0
            raise
        now = self.clock()
        oldest = max(0.0, now - min(stamps.values())) if stamps else 0.0  # nothing waits: 0
        with self._lock:
            newest = self._newest_received
        newest_age = max(0.0, now - newest.timestamp()) if newest is not None else math.nan
        reading = LagReading(behind, committed, oldest, newest_age, now)
        self._export_offsets(behind, committed)
        STREAM_OLDEST_UNPROCESSED_AGE.set(reading.oldest_unprocessed_age_s)
        STREAM_NEWEST_RECEIVED_AGE.set(reading.newest_received_age_s)
        STREAM_LAG_CHECKS.inc()
        STREAM_LAG_LAST_CHECK_TIMESTAMP.set(reading.at)
        self.last = reading
        return reading

    def _export_offsets(self, behind: Mapping[int, int], committed: Mapping[int, int]) -> None:
        """The gauges of the topic's partitions (`behind` has every partition); those of a partition the topic no
        longer has are removed."""
        for partition in self._exported - set(behind):
            for gauge in (STREAM_OFFSETS_BEHIND, STREAM_COMMITTED_OFFSET):
                with contextlib.suppress(KeyError):  # never exported
                    gauge.remove(self.topic, str(partition))
        self._exported = set(behind)
        for partition, lag in behind.items():
            STREAM_OFFSETS_BEHIND.labels(self.topic, str(partition)).set(lag)
            if partition in committed:
                STREAM_COMMITTED_OFFSET.labels(self.topic, str(partition)).set(committed[partition])
        STREAM_OFFSETS_BEHIND_TOTAL.set(sum(behind.values()))

    def _committed_now(self, low: Mapping[int, int], high: Mapping[int, int]) -> dict[int, int]:
        """The end offsets of the newest committed batch (the checkpoint's, or the listener's if later), as they
        apply to the topic as it is now: a partition whose committed offset is above its high watermark (the topic
        was deleted and re-created) counts from the new topic's low watermark until a later batch commits."""
        try:
            found = committed_batch(self.checkpoint, self.topic)
        except OSError as exc:  # pragma: no cover - the readers already swallow I/O errors
            raise LagError("checkpoint", str(exc)) from exc
        if found is not None:
            self._record(*found)
        with self._lock:
            if self._batch is None:  # nothing in the checkpoint yet: where the query will start
                self._batch = STARTING_BATCH
                self._committed = starting_offsets(self.starting, self.topic, low, high)
            batch, committed = self._batch, dict(self._committed)
        for partition, offset in committed.items():
            if partition in high and offset > high[partition] and self._reset.get(partition) != batch:
                log.warning(
                    "partition %d of %s ends at %d, below the committed offset %d: the topic was re-created;"
                    " counting from its start (%d)",
                    partition,
                    self.topic,
                    high[partition],
                    offset,
                    low[partition],
                )
                self._reset[partition] = batch
                self._timestamps = {k: v for k, v in self._timestamps.items() if k[0] != partition}
        return {p: low[p] if self._reset.get(p) == batch else offset for p, offset in committed.items() if p in high}

    # Kafka -----------------------------------------------------------------------------------------------------
    def _client(self) -> Any:
        if self._consumer is None:
            self._consumer = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": f"weir-lag-monitor-{uuid.uuid4()}",  # never joins: assign() only, no commits
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": False,
                    "auto.offset.reset": "earliest",
                    "socket.connection.setup.timeout.ms": 3000,
                    "fetch.max.bytes": 1 << 20,
                    "queued.max.messages.kbytes": 1024,
                    "logger": logging.getLogger("streaming.lag.librdkafka"),
                }
            )
        return self._consumer

    def _consumer_reset(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                consumer.close()
            except (KafkaException, RuntimeError) as exc:
                log.debug("closing the lag consumer: %s", exc)

    def _watermarks(self) -> tuple[dict[int, int], dict[int, int]]:
        consumer = self._client()
        try:
            topic = consumer.list_topics(self.topic, timeout=self.kafka_timeout_s).topics.get(self.topic)
            if topic is None or topic.error is not None:
                raise LagError("metadata", f"topic {self.topic}: {topic.error if topic else 'not found'}")
            low: dict[int, int] = {}
            high: dict[int, int] = {}
            for partition in sorted(topic.partitions):
                tp = TopicPartition(self.topic, partition)
                low[partition], high[partition] = consumer.get_watermark_offsets(
                    tp, timeout=self.kafka_timeout_s, cached=False
                )
        except KafkaException as exc:
            raise LagError("watermarks", str(exc)) from exc
        if not high:
            raise LagError("metadata", f"topic {self.topic} has no partitions")
        return low, high

    def _record_timestamps(self, positions: Mapping[int, int]) -> dict[int, float]:
        """Kafka timestamps (seconds) of the records at `positions` {partition: offset}; cached, since the oldest
        unprocessed record of a partition stays the same until a batch commits past it."""
        stamps = {p: self._timestamps[(p, o)] for p, o in positions.items() if (p, o) in self._timestamps}
        wanted = {p: o for p, o in positions.items() if p not in stamps}
        if wanted:
            stamps.update(self._fetch_timestamps(wanted))
        self._timestamps = {(p, positions[p]): ts for p, ts in stamps.items()}
        return stamps

    def _fetch_timestamps(self, wanted: Mapping[int, int]) -> dict[int, float]:
        """Read one record per partition from `wanted` {partition: offset}; a record without a timestamp counts
        as read and is left out of the result (its age is unknown)."""
        consumer = self._client()
        found: dict[int, float] = {}
        read: set[int] = set()
        try:
            consumer.assign([TopicPartition(self.topic, p, o) for p, o in wanted.items()])
            deadline = time.monotonic() + self.kafka_timeout_s
            while len(read) < len(wanted) and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=len(wanted), timeout=0.5):
                    error = msg.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            raise LagError("timestamps", str(error))
                        continue
                    partition = msg.partition()
                    if partition not in wanted or partition in read or msg.offset() < wanted[partition]:
                        continue
                    read.add(partition)
                    kind, millis = msg.timestamp()
                    if kind != TIMESTAMP_NOT_AVAILABLE and millis >= 0:  # -1: Kafka's "no timestamp"
                        found[partition] = millis / 1000
            consumer.unassign()
        except KafkaException as exc:
            raise LagError("timestamps", str(exc)) from exc
        if len(read) < len(wanted):
            missing = sorted(set(wanted) - read)
            raise LagError("timestamps", f"no record read at the committed offset of partitions {missing}")
        return found
