"""The real `weir stream` process reporting its lag while it catches up after a restart, and the alert rules
reading only what it exports."""

import math
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import yaml
from confluent_kafka import Producer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import streaming.lag  # noqa: F401 - its metrics are registered on import, like the job's
from ingest.admin import create_topics
from ingest.topics import TopicSpec
from lake.tables import BRONZE, SILVER, table_uri
from tests.support import free_port, make_event
from weir.stack.lake import read_rows
from weir.stack.paths import REPO_ROOT

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
        assert value(done, "weir_stream_query_active") == 1
        # The batch figures are counted from the progress reports, which reach the listener asynchronously after
        # Spark's commit (the monitor may read that commit from the checkpoint first).
        [done] = job.wait_for(
            lambda m: (
                value(m, "weir_stream_progress_input_rows_total") == 120
                and value(m, "weir_stream_rows_total", outcome="bronze") == 120
            ),
            60,
            "progress of 120 rows",
        )[-1:]
        assert value(done, "weir_stream_rows_total", outcome="silver") == 120
        assert value(done, "weir_stream_batches_total") >= 3  # at most 50 offsets per trigger
        assert 0 <= value(done, "weir_stream_newest_received_age_seconds") < 600
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
    # the stream's own group: tests/observability/test_alerts.py checks every group against every component
    alerts = [rule for group in rules["groups"] if group["name"] == "weir-stream" for rule in group["rules"]]
    assert len(alerts) >= 5
    for rule in alerts:
        used = set(re.findall(r"\bweir_stream_[a-z_]+", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["runbook"].split("#")[1] in headings, rule["alert"]
