"""Lag of the streaming job: checkpoint parsing (files crafted byte for byte like pyspark 4.2 writes them), the
`LagMonitor` against the real broker, and the real `weir stream` process catching up after a restart."""

import math
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
import yaml
from confluent_kafka import Producer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from ingest.admin import create_topics
from ingest.topics import TopicSpec
from streaming.lag import (
    LagError,
    LagMonitor,
    batch_end_offsets,
    batch_ids,
    committed_offsets,
    offsets_file,
    starting_offsets,
)
from streaming.tables import BRONZE, SILVER, table_uri
from tests.support import free_port, make_event
from weir.stack.lake import read_rows
from weir.stack.paths import REPO_ROOT

METADATA = (
    '{"batchWatermarkMs":0,"batchTimestampMs":1795646074842,"conf":{"spark.sql.streaming.stateStore.providerClass":'
    '"org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider","spark.sql.shuffle.partitions":"2"}}'
)


def write_batch_files(checkpoint: Path, batch_id: int, offsets: dict, *, commit: bool = True) -> None:
    """`offsets/<id>` (and `commits/<id>`) as Spark writes them, with the `.crc` files beside."""
    for folder in ("offsets", "commits"):
        (checkpoint / folder).mkdir(parents=True, exist_ok=True)
    (checkpoint / "offsets" / str(batch_id)).write_text(f"v1\n{METADATA}\n{orjson.dumps(offsets).decode()}")
    (checkpoint / "offsets" / f".{batch_id}.crc").write_bytes(b"crc\x00")
    if commit:
        (checkpoint / "commits" / str(batch_id)).write_text('v1\n{"nextBatchWatermarkMs":0}')
        (checkpoint / "commits" / f".{batch_id}.crc").write_bytes(b"crc\x00")


def write_initial_offsets(checkpoint: Path, offsets: dict) -> None:
    """`sources/0/0`: the Kafka source's initial offsets, after a NUL byte."""
    (checkpoint / "sources" / "0").mkdir(parents=True, exist_ok=True)
    (checkpoint / "sources" / "0" / "0").write_bytes(b"\x00v1\n" + orjson.dumps(offsets))


# The checkpoint (pure) -------------------------------------------------------------------------------------------
def test_the_newest_committed_batch_gives_the_committed_offsets(tmp_path):
    write_initial_offsets(tmp_path, {"t": {"0": 0, "1": 0}})
    write_batch_files(tmp_path, 0, {"t": {"0": 2, "1": 1}})
    write_batch_files(tmp_path, 1, {"t": {"0": 4, "1": 3}})
    write_batch_files(tmp_path, 2, {"t": {"0": 9, "1": 9}}, commit=False)  # planned, not committed
    (tmp_path / "commits" / ".3.0b1c.tmp").write_text("v1\n")
    assert batch_ids(tmp_path / "commits") == [1, 0]
    assert committed_offsets(tmp_path, "t") == {0: 4, 1: 3}
    assert batch_end_offsets(tmp_path, 2, "t") == {0: 9, 1: 9}
    assert committed_offsets(tmp_path, "another-topic") is None


def test_before_any_commit_the_initial_offsets_count_and_an_empty_checkpoint_has_none(tmp_path):
    assert committed_offsets(tmp_path / "missing", "t") is None
    assert committed_offsets(tmp_path, "t") is None
    write_batch_files(tmp_path, 0, {"t": {"0": 5}}, commit=False)
    assert committed_offsets(tmp_path, "t") is None
    write_initial_offsets(tmp_path, {"t": {"0": 3}})
    assert committed_offsets(tmp_path, "t") == {0: 3}


def test_unreadable_offset_files_are_skipped(tmp_path):
    write_batch_files(tmp_path, 0, {"t": {"0": 2}})
    write_batch_files(tmp_path, 1, {"t": {"0": 4}})
    (tmp_path / "offsets" / "1").write_text("v1\n{not json\n-")  # torn file: fall back to the previous commit
    assert committed_offsets(tmp_path, "t") == {0: 2}
    (tmp_path / "offsets" / "2").write_bytes(b"\xff\xfe")
    assert offsets_file(tmp_path / "offsets" / "2", "t") is None
    (tmp_path / "offsets" / "3").write_text('{"t":{"0":1}}')  # no version line: not a metadata log file
    assert offsets_file(tmp_path / "offsets" / "3", "t") is None
    (tmp_path / "offsets" / "4").write_text(f'v2\n{METADATA}\n{{"src-a":{{"t":{{"0":7}}}}}}')
    assert offsets_file(tmp_path / "offsets" / "4", "t") == {0: 7}  # offsets keyed by source name


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("earliest", {0: 1, 1: 0}),
        ("latest", {0: 9, 1: 4}),
        ('{"t":{"0":5,"1":-1}}', {0: 5, 1: 4}),
        ('{"t":{"0":-2}}', {0: 1, 1: 0}),
    ],
)
def test_starting_offsets_resolve_like_spark(spec, expected):
    assert starting_offsets(spec, "t", {0: 1, 1: 0}, {0: 9, 1: 4}) == expected


# The monitor against the real broker ------------------------------------------------------------------------------
def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def produce(bootstrap: str, topic: str, partition: int, count: int, timestamp_ms: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(count):
        producer.produce(topic, value=b"{}", partition=partition, timestamp=timestamp_ms + i)
    assert producer.flush(10) == 0


@pytest.mark.integration
def test_the_monitor_measures_offsets_and_ages_from_the_checkpoint_and_committed_batches(kafka_bootstrap, tmp_path):
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    t0 = 1_790_000_000
    produce(kafka_bootstrap, topic, 0, 5, t0 * 1000)  # offsets 0..4, timestamps t0 .. t0 + 4 ms
    produce(kafka_bootstrap, topic, 1, 3, (t0 + 50) * 1000)
    write_batch_files(tmp_path, 0, {topic: {"0": 2, "1": 3}})
    now = [t0 + 100.0]
    monitor = LagMonitor(kafka_bootstrap, topic, tmp_path, clock=lambda: now[0])
    assert math.isnan(sample("weir_stream_offsets_behind_total"))  # unknown, not 0, before the first check

    reading = monitor.check()
    assert reading.offsets_behind == {0: 3, 1: 0}
    assert reading.oldest_unprocessed_age_s == pytest.approx(100 - 0.002)  # the record at offset 2
    assert math.isnan(reading.newest_received_age_s)
    assert sample("weir_stream_offsets_behind", topic=topic, partition="0") == 3
    assert sample("weir_stream_offsets_behind_total") == 3
    assert sample("weir_stream_committed_offset", topic=topic, partition="1") == 3

    # The job wrote batch 1 (its offsets file is there, Spark has not committed yet).
    write_batch_files(tmp_path, 1, {topic: {"0": 5, "1": 3}}, commit=False)
    newest = datetime.fromtimestamp(t0 + 40, UTC)
    monitor.batch_committed(SimpleNamespace(batch_id=1, newest_received_at=newest))
    monitor.batch_committed(SimpleNamespace(batch_id=1, newest_received_at=newest - timedelta(seconds=30)))
    reading = monitor.check()
    assert reading.offsets_behind == {0: 0, 1: 0}
    assert reading.oldest_unprocessed_age_s == 0
    assert reading.newest_received_age_s == pytest.approx(60)
    assert sample("weir_stream_oldest_unprocessed_age_seconds") == 0
    assert sample("weir_stream_newest_received_age_seconds") == pytest.approx(60)

    # Lag rises without any batch; the listener's progress report brings it back to 0.
    produce(kafka_bootstrap, topic, 1, 2, (t0 + 90) * 1000)
    now[0] = t0 + 130.0
    reading = monitor.check()
    assert reading.offsets_behind == {0: 0, 1: 2}
    assert reading.oldest_unprocessed_age_s == pytest.approx(40)
    monitor.offsets_committed({(topic, 1): 5, ("another-topic", 1): 99})
    assert monitor.check().offsets_behind == {0: 0, 1: 0}
    monitor.close()


@pytest.mark.integration
def test_an_empty_checkpoint_counts_from_the_starting_offsets(kafka_bootstrap, tmp_path):
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    produce(kafka_bootstrap, topic, 0, 4, int(time.time() * 1000) - 10_000)
    earliest = LagMonitor(kafka_bootstrap, topic, tmp_path / "cp")
    reading = earliest.check()
    assert reading.offsets_behind == {0: 4}
    assert 9 < reading.oldest_unprocessed_age_s < 120
    latest = LagMonitor(kafka_bootstrap, topic, tmp_path / "cp", starting="latest")
    assert latest.check().offsets_behind == {0: 0}
    earliest.close()
    latest.close()


@pytest.mark.integration
def test_kafka_errors_are_counted_and_never_stop_the_thread(tmp_path):
    monitor = LagMonitor(f"127.0.0.1:{free_port()}", "nowhere", tmp_path, interval_s=0.05, kafka_timeout_s=0.3)
    with pytest.raises(LagError):
        monitor.check()
    before = sum(sample("weir_stream_lag_errors_total", stage=s) or 0 for s in ("metadata", "watermarks"))
    monitor.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            errors = sum(sample("weir_stream_lag_errors_total", stage=s) or 0 for s in ("metadata", "watermarks"))
            if errors >= before + 3:
                break
            time.sleep(0.1)
        assert errors >= before + 3
        assert monitor._thread is not None
        assert monitor._thread.is_alive()
    finally:
        monitor.stop()
    assert not monitor._thread.is_alive()


# The real job, stopped and restarted ------------------------------------------------------------------------------
Metrics = dict[str, dict[tuple[tuple[str, str], ...], float]]


class StreamJob:
    """`python -m weir stream` in its own process group, its output appended to one log."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.env = {**os.environ, "WEIR_HOME": str(home), **env}
        self.url = f"http://127.0.0.1:{env['WEIR_STREAM_METRICS_PORT']}/metrics"
        self.log = home / "stream.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **env: str) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "weir", "stream"],
                env={**self.env, **env},
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def metrics(self) -> Metrics | None:
        try:
            text = httpx.get(self.url, timeout=2).text
        except httpx.HTTPError:
            return None
        found: Metrics = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
        return found

    def wait_for(self, want: Callable[[Metrics], bool], timeout_s: float, what: str) -> list[Metrics]:
        """Scrape every 0.25 s until `want` holds; every scrape taken, the last one satisfying `want`."""
        scrapes: list[Metrics] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, f"the job exited: {self.tail()}"
            metrics = self.metrics()
            if metrics is not None:
                scrapes.append(metrics)
                if want(metrics):
                    return scrapes
            time.sleep(0.25)
        raise AssertionError(f"{what}: not within {timeout_s:.0f} s; last scrape {scrapes[-1:]}; log:\n{self.tail()}")

    def terminate(self, timeout_s: float = 60) -> int:
        """SIGTERM to the whole process group (the Python leader and its JVM), as systemd or a container would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.get(name, {}).get(tuple(sorted(labels.items())), math.nan)


def total(metrics: Metrics, name: str) -> float:
    return sum(metrics.get(name, {}).values())


def produce_events(bootstrap: str, topic: str, count: int) -> list[str]:
    """Valid events as the gateway publishes them (with `tenant` and `received_at`)."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    ids = []
    for _ in range(count):
        event = {**make_event(), "tenant": "acme", "received_at": datetime.now(UTC).isoformat()}
        ids.append(event["event_id"])
        producer.produce(topic, key=event["event_id"].encode(), value=orjson.dumps(event))
    assert producer.flush(10) == 0
    return ids


def caught_up(committed: int) -> Callable[[Metrics], bool]:
    def want(m: Metrics) -> bool:
        return (
            value(m, "weir_stream_lag_checks_total") > 0
            and total(m, "weir_stream_committed_offset") == committed
            and value(m, "weir_stream_offsets_behind_total") == 0
            and value(m, "weir_stream_oldest_unprocessed_age_seconds") == 0
        )

    return want


def assert_clean_stop(job: StreamJob) -> None:
    assert job.terminate() == 0, job.tail()
    log = job.log.read_text(errors="replace")
    assert "InterruptedException" not in log, job.tail()
    assert "Traceback" not in log, job.tail()
    assert "Failed to cancel job group" not in log, job.tail()


@pytest.mark.integration
def test_the_job_reports_lag_while_it_catches_up_after_a_restart(kafka_bootstrap, tmp_path):
    topic, failures = f"lag-events-{uuid.uuid4().hex[:8]}", f"lag-failures-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(topic, 3), TopicSpec(failures, 1)])
    job = StreamJob(
        tmp_path,
        {
            "WEIR_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "WEIR_EVENTS_TOPIC": topic,
            "WEIR_FAILURES_TOPIC": failures,
            "WEIR_STREAM_METRICS_PORT": str(free_port()),
            "WEIR_TRIGGER_SECONDS": "1",
            "WEIR_STARTING_OFFSETS": "earliest",
            "WEIR_SPARK_JARS_DIR": str(REPO_ROOT / ".weir" / "jars" / "spark"),
            "WEIR_SPARK_DRIVER_MEMORY": "1g",
        },
    )
    first = produce_events(kafka_bootstrap, topic, 20)
    try:
        job.start()
        job.wait_for(caught_up(20), 180, "the first run reaches lag 0")
        assert_clean_stop(job)

        second = produce_events(kafka_bootstrap, topic, 120)  # while the job is down: 3+ batches of 50 to catch up
        job.start(WEIR_MAX_OFFSETS_PER_TRIGGER="50")
        scrapes = job.wait_for(caught_up(140), 180, "the restarted job catches up")
        measured = [m for m in scrapes if value(m, "weir_stream_lag_checks_total") > 0]
        behind = [m for m in measured if value(m, "weir_stream_offsets_behind_total") > 0]
        assert behind, "the restarted job never reported the 120 records it had to catch up on"
        assert value(measured[0], "weir_stream_offsets_behind_total") > 50  # seen early, before most batches ran
        assert any(value(m, "weir_stream_oldest_unprocessed_age_seconds") > 0 for m in behind)
        assert max(value(m, "weir_stream_offsets_behind_total") for m in measured) <= 120

        done = scrapes[-1]  # offsets behind and oldest age exactly 0, every partition committed to its end
        assert all(v == 0 for v in done["weir_stream_offsets_behind"].values())
        assert value(done, "weir_stream_rows_total", outcome="bronze") == 120
        assert value(done, "weir_stream_rows_total", outcome="silver") == 120
        assert value(done, "weir_stream_batches_total") >= 3  # at most 50 offsets per trigger
        assert 0 <= value(done, "weir_stream_newest_received_age_seconds") < 600
        assert value(done, "weir_stream_query_active") == 1
        # Progress reports reach the listener asynchronously, after Spark's commit.
        job.wait_for(lambda m: value(m, "weir_stream_progress_input_rows_total") == 120, 60, "progress of 120 rows")
        assert_clean_stop(job)
    finally:
        job.kill()
    silver = read_rows(table_uri(str(tmp_path / "lake"), SILVER), ["event_id"])
    assert sorted(r["event_id"] for r in silver) == sorted(first + second)
    assert len(read_rows(table_uri(str(tmp_path / "lake"), BRONZE), ["event_id"])) == 140


# The alert rules --------------------------------------------------------------------------------------------------
def test_every_alert_uses_exported_metrics_and_has_a_runbook():
    rules = yaml.safe_load((REPO_ROOT / "observability" / "prometheus" / "alerts.yml").read_text())
    exported = set()
    for family in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        exported.update(family.name + suffix for suffix in suffixes)
    headings = {
        line.removeprefix("### ").strip().lower()
        for line in (REPO_ROOT / "docs" / "operations.md").read_text().splitlines()
        if line.startswith("### ")
    }
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 5
    for rule in alerts:
        used = set(re.findall(r"\bweir_stream_[a-z_]+", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["runbook"].split("#")[1] in headings, rule["alert"]
