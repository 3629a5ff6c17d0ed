"""Helpers shared by tests: free ports, events, Kafka polling, a topic's new records, metric deltas, a real gateway
process and its worker processes."""

import socket
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from weir.stack.paths import REPO_ROOT, Home
from weir.stack.procs import Service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.created",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": "tests",
        "payload": {"order_id": "A-1", "amount": 12.5, "currency": "EUR"},
    }
    event.update(overrides)
    return event


def quoted_pieces(secret: str, text: str, size: int = 6) -> list[str]:
    """The pieces of `secret` (every run of `size` characters) that `text` contains, case-insensitively."""
    lowered = text.lower()
    return sorted(
        {secret[i : i + size] for i in range(len(secret) - size + 1) if secret[i : i + size].lower() in lowered}
    )


def record_of(msg: Any) -> dict[str, Any]:
    """A Kafka message's JSON object, or {} for anything else: the shared `weir.events.v1` also holds the records
    the streaming tests and the demo write on purpose (not JSON, no key)."""
    try:
        value = orjson.loads(msg.value() or b"")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def consume_until(consumer: Consumer, want: Callable[[list[Any]], bool], timeout_s: float = 30) -> list[Any]:
    """Poll until `want(messages)` holds or the timeout passes; returns every message seen. Reads in batches and
    asks `want` at most every 0.2 s (or when caught up), so a condition that scans every message stays linear
    on a topic that already holds many thousands (the shared events topic does, late in the suite)."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout_s
    asked = 0.0
    while time.monotonic() < deadline:
        batch = consumer.consume(num_messages=1000, timeout=0.5)
        seen.extend(m for m in batch if m.error() is None)
        now = time.monotonic()
        if not batch or now - asked >= 0.2:
            asked = now
            if want(seen):
                return seen
    return seen


class TopicWindow:
    """Every record a topic received while the `with` block ran: its end offsets are read on entry and on exit,
    then everything between them is consumed. A write acknowledged inside the block is below the exit offsets,
    so `records()` sees it, whichever partition it went to."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"weir-tests-{uuid.uuid4()}", "enable.auto.commit": False}
        )
        self._start: dict[int, int] = {}
        self._end: dict[int, int] = {}

    def _ends(self, timeout_s: float = 30) -> dict[int, int]:
        """Each partition's end offset; retried while a fresh broker still elects the partitions' leaders."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                partitions = self._consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
                return {
                    p: self._consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
                    for p in partitions
                }
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def __enter__(self) -> "TopicWindow":
        self._start = self._ends()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._end = self._ends()

    def records(self, timeout_s: float = 30) -> list[Any]:
        """The records written inside the block (read once, then the consumer is closed)."""
        todo = {p: (self._start.get(p, 0), end) for p, end in self._end.items() if end > self._start.get(p, 0)}
        seen: list[Any] = []
        try:
            if not todo:
                return seen
            self._consumer.assign([TopicPartition(self.topic, p, start) for p, (start, _) in todo.items()])
            deadline = time.monotonic() + timeout_s
            left = {p: end for p, (_, end) in todo.items()}
            while left and time.monotonic() < deadline:
                for msg in self._consumer.consume(num_messages=1000, timeout=0.5):
                    if msg.error() is not None or msg.partition() not in left:
                        continue
                    if msg.offset() < left[msg.partition()]:
                        seen.append(msg)
                    if msg.offset() + 1 >= left[msg.partition()]:
                        del left[msg.partition()]
            assert not left, f"could not read {self.topic} up to its end offsets {left}"
            return seen
        finally:
            self._consumer.close()


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus scrape (the sample's name: `x_total`, `x_count`, `x_bucket`...); 0 when absent."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


class MetricDeltas:
    """How much samples grew between two scrapes of a `/metrics` endpoint (counters in a test process are
    process-global: only their change says what a test did)."""

    def __init__(self, scrape: Callable[[], str]) -> None:
        self._scrape = scrape
        self._before = scrape()
        self._after = ""

    def rescrape(self) -> "MetricDeltas":
        self._after = self._scrape()
        return self

    def __call__(self, name: str, **labels: str) -> float:
        return metric_value(self._after, name, **labels) - metric_value(self._before, name, **labels)


class GatewayProcess:
    """A real gateway: `python -m weir gateway` under uvicorn, in its own process."""

    def __init__(self, home: Path, bootstrap: str, api_keys: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service = Service("gateway", Home(home).ensure())
        self.env = {
            "WEIR_HOME": str(home),
            "WEIR_KAFKA_BOOTSTRAP": bootstrap,
            "WEIR_API_KEYS": api_keys,
            "WEIR_GATEWAY_PORT": str(self.port),
            **env,
        }

    def start(self) -> "GatewayProcess":
        self.service.start([sys.executable, "-m", "weir", "gateway"], env=self.env, cwd=REPO_ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return self
            except httpx.HTTPError:
                assert self.service.pid() is not None, self.service.log_file.read_text()
                time.sleep(0.2)
        raise AssertionError(f"gateway did not start: {self.service.log_file.read_text()}")

    def stop(self) -> None:
        self.service.stop(timeout_s=20)


def wait_ready(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError("the gateway never became ready")


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cpu_ticks(pid: int) -> int:
    """The CPU time a process used so far (user + system), in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def ready_workers(gw: GatewayProcess, n: int, timeout_s: float = 60) -> tuple[int, list[int]]:
    """Wait until the gateway `gw` is ready and has `n` uvicorn worker processes, each through its start-up (its
    lifespan logged "Application startup complete"): `(pid, the workers' pids)`."""
    wait_ready(gw.url)
    pid = gw.service.pid()
    assert pid is not None
    deadline = time.monotonic() + timeout_s
    while True:
        workers = [c for c in children(pid) if "spawn_main" in cmdline(c)]
        started = gw.service.log_file.read_text().count("Application startup complete")
        if len(workers) >= n and started >= n:
            return pid, workers
        assert time.monotonic() < deadline, (children(pid), started)
        time.sleep(0.2)
