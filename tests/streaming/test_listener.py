"""Progress reports -> metric values (pure), and the listener's callbacks on crafted pyspark events. The progress
JSON below is a real one from pyspark 4.2 (a Kafka source, `foreachBatch` sink); the listener itself gets pyspark's
own `StreamingQueryProgress`/`SourceProgress` objects, whose offsets are JSON strings (`"None"` when missing)."""

import math
import uuid
from types import SimpleNamespace

import orjson
import pytest
from prometheus_client import REGISTRY
from pyspark.sql.streaming.listener import QueryProgressEvent, StreamingQueryProgress

from streaming.listener import QueryMetricsListener, kafka_offsets, progress_figures

PROGRESS = {
    "id": "9486290d-54d3-415e-9d28-05436b713f1c",
    "runId": "fe2cc196-30bb-4558-9228-eb2a2a4bb8bd",
    "name": "weir-events",
    "timestamp": "2026-11-25T22:34:34.840Z",
    "batchId": 1,
    "batchDuration": 504,
    "numInputRows": 5,
    "inputRowsPerSecond": 1.1,
    "processedRowsPerSecond": 9.9,
    "durationMs": {
        "addBatch": 331,
        "commitOffsets": 44,
        "getBatch": 4,
        "latestOffset": 1,
        "queryPlanning": 27,
        "triggerExecution": 504,
        "walCommit": 83,
    },
    "stateOperators": [],
    "sources": [
        {
            "description": "KafkaV2[Subscribe[t1]]",
            "startOffset": {"t1": {"0": 2, "1": 2, "2": 1}},
            "endOffset": {"t1": {"0": 4, "1": 4, "2": 2}},
            "latestOffset": {"t1": {"0": 8, "1": 7, "2": 5}},
            "numInputRows": 5,
            "inputRowsPerSecond": 1.1,
            "processedRowsPerSecond": 9.9,
            "metrics": {"avgOffsetsBehindLatest": "3.3", "maxOffsetsBehindLatest": "4", "minOffsetsBehindLatest": "3"},
        }
    ],
    "sink": {"description": "ForeachBatchSink", "numOutputRows": -1},
}


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_real_progress_report_becomes_figures():
    figures = progress_figures(PROGRESS)
    assert figures.batch_id == 1
    assert figures.timestamp == pytest.approx(1795646074.840)
    assert (figures.input_rows, figures.input_rows_per_second, figures.processed_rows_per_second) == (5, 1.1, 9.9)
    assert figures.trigger_seconds == pytest.approx(0.504)
    assert figures.phase_seconds["addBatch"] == pytest.approx(0.331)
    assert figures.phase_seconds["walCommit"] == pytest.approx(0.083)
    assert figures.spark_offsets_behind == {"min": 3.0, "avg": 3.3, "max": 4.0}
    assert figures.end_offsets == {("t1", 0): 4, ("t1", 1): 4, ("t1", 2): 2}
    assert figures.offsets_behind == {("t1", 0): 4, ("t1", 1): 3, ("t1", 2): 3}


def test_pyspark_progress_objects_with_json_string_offsets_give_the_same_figures():
    """What the listener really receives: offsets as strings, a first batch's startOffset as the string "None"."""
    progress = StreamingQueryProgress.fromJson(PROGRESS)
    for source in progress.sources:
        source["startOffset"] = "None"
    assert isinstance(progress.sources[0].endOffset, str)
    assert progress_figures(progress) == progress_figures(PROGRESS)


def test_missing_nan_and_garbage_values_are_left_out_rather_than_guessed():
    progress = {
        **PROGRESS,
        "batchDuration": "soon",
        "inputRowsPerSecond": math.nan,
        "timestamp": "yesterday",
        "durationMs": {"addBatch": None, "walCommit": 12},
        "sources": [
            {"endOffset": "not json", "latestOffset": "{}", "metrics": {}},
            {"endOffset": '{"t":{"0":5,"x":1,"1":"7"}}', "latestOffset": '{"t":{"0":9}}', "metrics": {"maxOffsets": 1}},
            "garbage",
        ],
    }
    del progress["processedRowsPerSecond"]
    figures = progress_figures(progress)
    assert figures.trigger_seconds is None
    assert figures.input_rows_per_second is None
    assert figures.processed_rows_per_second is None
    assert figures.timestamp is None
    assert figures.phase_seconds == {"walCommit": 0.012}
    assert figures.end_offsets == {("t", 0): 5}
    assert figures.offsets_behind == {("t", 0): 4}
    assert figures.spark_offsets_behind == {}
    assert progress_figures({}).input_rows == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"a":{"0":1,"1":2},"b":{"0":3}}', {("a", 0): 1, ("a", 1): 2, ("b", 0): 3}),
        (b'{"a":{"0":-2}}', {("a", 0): -2}),
        ({"a": {"0": 1}}, {("a", 0): 1}),
        ("None", {}),
        (None, {}),
        ("[1,2]", {}),
        ('{"a":[1]}', {}),
        ('{"a":{"0":1.5,"1":true}}', {}),
    ],
)
def test_kafka_offsets_are_parsed_defensively(value, expected):
    assert kafka_offsets(value) == expected


def test_the_listener_exports_progress_and_forwards_the_committed_batch():
    received = []
    listener = QueryMetricsListener(on_progress=[received.append], clock=lambda: 1000.0)
    topic = f"t-{uuid.uuid4().hex[:8]}"
    report = orjson.loads(orjson.dumps(PROGRESS).replace(b'"t1"', f'"{topic}"'.encode()))
    rows_before = sample("weir_stream_progress_input_rows_total") or 0.0
    triggers_before = sample("weir_stream_trigger_seconds_count") or 0.0

    listener.onQueryStarted(SimpleNamespace(id=uuid.uuid4(), name="weir-events"))
    assert sample("weir_stream_query_active") == 1.0
    listener.onQueryProgress(QueryProgressEvent(StreamingQueryProgress.fromJson(report)))

    [figures] = received
    assert figures.end_offsets == {(topic, 0): 4, (topic, 1): 4, (topic, 2): 2}
    assert (figures.query_id, figures.batch_id) == (PROGRESS["id"], 1)
    assert figures.committed_at == pytest.approx(1795646074.840 + 0.504)  # the trigger's end, after the commit
    assert sample("weir_stream_progress_input_rows_total") == rows_before + 5
    assert sample("weir_stream_trigger_seconds_count") == triggers_before + 1
    assert sample("weir_stream_input_rows_per_second") == 1.1
    assert sample("weir_stream_processed_rows_per_second") == 9.9
    assert sample("weir_stream_last_trigger_phase_seconds", phase="addBatch") == pytest.approx(0.331)
    assert sample("weir_stream_spark_offsets_behind_latest", stat="max") == 4.0
    assert sample("weir_stream_source_offsets_behind", topic=topic, partition="1") == 3.0
    assert sample("weir_stream_last_progress_timestamp_seconds") == pytest.approx(1795646074.840)


def test_the_listener_counts_terminations_by_outcome_and_never_raises():
    listener = QueryMetricsListener(query_name="mine", clock=lambda: 1000.0)
    mine, other = uuid.uuid4(), uuid.uuid4()
    failed_before = sample("weir_stream_query_terminations_total", outcome="failed") or 0.0
    stopped_before = sample("weir_stream_query_terminations_total", outcome="stopped") or 0.0
    errors_before = sample("weir_stream_listener_errors_total") or 0.0

    listener.onQueryStarted(SimpleNamespace(id=mine, name="mine"))
    listener.onQueryStarted(SimpleNamespace(id=other, name="someone else's"))
    listener.onQueryTerminated(SimpleNamespace(id=other, exception=None))
    assert not listener.terminated.is_set()
    listener.onQueryTerminated(SimpleNamespace(id=mine, exception="DataQualityStop: rule 'x' broke\n\tat ..."))
    assert listener.terminated.is_set()
    assert listener.exception is not None
    assert sample("weir_stream_query_active") == 0.0
    assert sample("weir_stream_query_terminations_total", outcome="failed") == failed_before + 1
    assert sample("weir_stream_query_terminations_total", outcome="stopped") == stopped_before

    listener.onQueryStarted(SimpleNamespace(id=mine, name="mine"))
    listener.onQueryTerminated(SimpleNamespace(id=mine, exception=None))
    assert sample("weir_stream_query_terminations_total", outcome="stopped") == stopped_before + 1

    listener.onQueryProgress(SimpleNamespace())  # no `progress`: logged and counted, not raised into Spark
    assert sample("weir_stream_listener_errors_total") == errors_before + 1


def test_a_failing_progress_callback_is_counted_and_does_not_keep_the_report_from_the_others():
    received = []

    def broken(_figures):
        raise RuntimeError("boom")

    listener = QueryMetricsListener(on_progress=[broken, received.append])
    errors_before = sample("weir_stream_listener_errors_total") or 0.0
    listener.onQueryProgress(QueryProgressEvent(StreamingQueryProgress.fromJson(PROGRESS)))
    assert [f.batch_id for f in received] == [1]
    assert sample("weir_stream_listener_errors_total") == errors_before + 1
    no_batch = {k: v for k, v in PROGRESS.items() if k != "batchId"}
    listener.onQueryProgress(SimpleNamespace(progress=no_batch))  # no batch id: nothing to report committed
    assert len(received) == 1
