"""Query health metrics from Spark's own progress reports: a `StreamingQueryListener` that turns each
`QueryProgressEvent` (rates, durations, offsets behind latest) and the query's start and termination into
Prometheus metrics. Progress parsing (`progress_figures`) is pure and defensive: Spark hands offsets over as JSON
strings (the string `"None"` for a missing one) and rates as NaN when there is nothing to measure."""

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pyspark.sql.streaming.listener import StreamingQueryListener

from observability.metrics import (
    STREAM_INPUT_ROWS_PER_SECOND,
    STREAM_LAST_BATCH_INPUT_ROWS,
    STREAM_LAST_PROGRESS_TIMESTAMP,
    STREAM_LISTENER_ERRORS,
    STREAM_PROCESSED_ROWS_PER_SECOND,
    STREAM_PROGRESS_INPUT_ROWS,
    STREAM_QUERY_ACTIVE,
    STREAM_QUERY_TERMINATIONS,
    STREAM_SOURCE_OFFSETS_BEHIND,
    STREAM_SPARK_OFFSETS_BEHIND,
    STREAM_TRIGGER_PHASE_SECONDS,
    STREAM_TRIGGER_SECONDS,
)

log = logging.getLogger(__name__)

TopicPartitionOffsets = dict[tuple[str, int], int]
"""Offsets by (topic, partition): Spark's Kafka source offsets, flattened."""

SPARK_LAG_METRICS = {"min": "minOffsetsBehindLatest", "avg": "avgOffsetsBehindLatest", "max": "maxOffsetsBehindLatest"}


def kafka_offsets(value: object) -> TopicPartitionOffsets:
    """Spark's Kafka source offsets, `{"topic": {"0": 123, ...}}` as a JSON string or already parsed, flattened;
    anything else (None, `"None"`, broken JSON, another source's offsets) gives `{}`."""
    if isinstance(value, str | bytes):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
    if not isinstance(value, Mapping):
        return {}
    flat: TopicPartitionOffsets = {}
    for topic, partitions in value.items():
        if not isinstance(topic, str) or not isinstance(partitions, Mapping):
            continue
        for partition, offset in partitions.items():
            if isinstance(partition, str) and partition.isdigit() and type(offset) is int:
                flat[(topic, int(partition))] = offset
    return flat


def _number(value: object) -> float | None:
    """A finite float from an int, float or numeric string; None for NaN, infinities, None and garbage."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _timestamp(value: object) -> float | None:
    """Unix seconds from Spark's ISO-8601 progress timestamp (`2026-11-25T22:34:30.398Z`)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class ProgressFigures:
    """What one progress report says, reduced to numbers (None where Spark reported nothing usable)."""

    batch_id: int | None
    timestamp: float | None
    input_rows: int
    input_rows_per_second: float | None
    processed_rows_per_second: float | None
    trigger_seconds: float | None
    phase_seconds: dict[str, float] = field(default_factory=dict)
    spark_offsets_behind: dict[str, float] = field(default_factory=dict)
    end_offsets: TopicPartitionOffsets = field(default_factory=dict)
    offsets_behind: TopicPartitionOffsets = field(default_factory=dict)
    query_id: str | None = None  # the query's id, kept in its checkpoint (a restart keeps it)

    @property
    def committed_at(self) -> float | None:
        """When the trigger ended, Unix seconds: its start plus its duration. Spark commits the batch's offsets at
        the end of the trigger and reports the progress right after."""
        if self.timestamp is None or self.trigger_seconds is None:
            return None
        return self.timestamp + self.trigger_seconds


def progress_figures(progress: Mapping[str, Any], source_reads: int = 1) -> ProgressFigures:
    """Read a `StreamingQueryProgress` (pyspark's dict subclass, or the parsed `progress.json`). `source_reads`:
    how many times the query's plan reads its one source (Spark counts each read's rows: the `state` mode's two
    lanes, `streaming.lanes.SOURCE_READS`, report every record twice); the row figures are divided by it."""
    phases = progress.get("durationMs")
    phase_seconds = {
        str(name): ms / 1000
        for name, raw in (phases.items() if isinstance(phases, Mapping) else ())
        if (ms := _number(raw)) is not None
    }
    spark_behind: dict[str, float] = {}
    end_offsets: TopicPartitionOffsets = {}
    behind: TopicPartitionOffsets = {}
    sources = progress.get("sources")
    for source in sources if isinstance(sources, list) else ():
        if not isinstance(source, Mapping):
            continue
        end = kafka_offsets(source.get("endOffset"))
        if not end:  # not a Kafka source, or no batch planned yet
            continue
        end_offsets.update(end)
        latest = kafka_offsets(source.get("latestOffset"))
        behind.update({tp: max(0, latest[tp] - offset) for tp, offset in end.items() if tp in latest})
        metrics = source.get("metrics")
        if isinstance(metrics, Mapping):
            for stat, key in SPARK_LAG_METRICS.items():
                if (number := _number(metrics.get(key))) is not None:
                    spark_behind[stat] = number
    rows = _number(progress.get("numInputRows"))

    def per_record(value: float | None) -> float | None:
        return value / source_reads if value is not None else None

    batch_id = progress.get("batchId")
    duration = _number(progress.get("batchDuration"))
    query_id = progress.get("id")
    return ProgressFigures(
        batch_id=batch_id if type(batch_id) is int else None,
        timestamp=_timestamp(progress.get("timestamp")),
        input_rows=int(rows) // source_reads if rows is not None else 0,
        input_rows_per_second=per_record(_number(progress.get("inputRowsPerSecond"))),
        processed_rows_per_second=per_record(_number(progress.get("processedRowsPerSecond"))),
        trigger_seconds=duration / 1000 if duration is not None else None,
        phase_seconds=phase_seconds,
        spark_offsets_behind=spark_behind,
        end_offsets=end_offsets,
        offsets_behind=behind,
        query_id=str(query_id) if query_id else None,
    )


def observe_progress(figures: ProgressFigures, *, now: float) -> None:
    """Export one progress report's figures."""
    STREAM_PROGRESS_INPUT_ROWS.inc(figures.input_rows)
    STREAM_LAST_BATCH_INPUT_ROWS.set(figures.input_rows)
    if figures.input_rows_per_second is not None:
        STREAM_INPUT_ROWS_PER_SECOND.set(figures.input_rows_per_second)
    if figures.processed_rows_per_second is not None:
        STREAM_PROCESSED_ROWS_PER_SECOND.set(figures.processed_rows_per_second)
    if figures.trigger_seconds is not None:
        STREAM_TRIGGER_SECONDS.observe(figures.trigger_seconds)
    for phase, seconds in figures.phase_seconds.items():
        STREAM_TRIGGER_PHASE_SECONDS.labels(phase).set(seconds)
    for stat, value in figures.spark_offsets_behind.items():
        STREAM_SPARK_OFFSETS_BEHIND.labels(stat).set(value)
    for (topic, partition), value in figures.offsets_behind.items():
        STREAM_SOURCE_OFFSETS_BEHIND.labels(topic, str(partition)).set(value)
    STREAM_LAST_PROGRESS_TIMESTAMP.set(figures.timestamp if figures.timestamp is not None else now)


class QueryMetricsListener(StreamingQueryListener):
    """Exports the health of the query named `query_name` (every query when None). Each of `on_progress` receives
    the figures of every progress report of a batch, which Spark posts after it committed the batch's offsets
    (`batch_id`, `end_offsets`, `committed_at`). Callbacks run on Spark's listener thread: they never raise, they
    log and count."""

    def __init__(
        self,
        query_name: str | None = None,
        on_progress: Iterable[Callable[[ProgressFigures], None]] = (),
        clock: Callable[[], float] | None = None,
        source_reads: int = 1,
    ) -> None:
        self.query_name = query_name
        self.source_reads = source_reads
        self.on_progress = list(on_progress)
        self.clock = clock or time.time
        self.terminated = threading.Event()
        self.exception: str | None = None
        self._ids: set[str] = set()
        for outcome in ("stopped", "failed"):  # exported at 0 from the start, so `increase()` sees the first one
            STREAM_QUERY_TERMINATIONS.labels(outcome)

    def _mine(self, name: object, query_id: object) -> bool:
        return self.query_name is None or name == self.query_name or str(query_id) in self._ids

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - pyspark's interface
        try:
            if self._mine(event.name, None):
                self._ids.add(str(event.id))
                self.terminated.clear()
                STREAM_QUERY_ACTIVE.set(1)
                STREAM_LAST_PROGRESS_TIMESTAMP.set(self.clock())
        except Exception:
            self._failed("onQueryStarted")

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        try:
            progress = event.progress
            if not self._mine(progress.get("name"), progress.get("id")):
                return
            figures = progress_figures(progress, self.source_reads)
            observe_progress(figures, now=self.clock())
        except Exception:
            self._failed("onQueryProgress")
            return
        if figures.batch_id is None:
            return
        for callback in self.on_progress:  # one failing does not keep the report from the others
            try:
                callback(figures)
            except Exception:
                self._failed("onQueryProgress")

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        try:
            if self._mine(None, event.id):
                stamp = _timestamp(event.timestamp)
                STREAM_LAST_PROGRESS_TIMESTAMP.set(stamp if stamp is not None else self.clock())
        except Exception:
            self._failed("onQueryIdle")

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        try:
            if not self._mine(None, event.id):
                return
        except Exception:
            self._failed("onQueryTerminated")
            return
        try:
            self.exception = event.exception
            STREAM_QUERY_ACTIVE.set(0)
            outcome = "failed" if event.exception else "stopped"
            STREAM_QUERY_TERMINATIONS.labels(outcome).inc()
            log.info("the streaming query terminated (%s)", outcome)  # the runner logs the error itself
        except Exception:
            self._failed("onQueryTerminated")
        finally:
            self.terminated.set()

    def _failed(self, callback: str) -> None:
        STREAM_LISTENER_ERRORS.inc()
        log.exception("query listener %s failed (ignored)", callback)
