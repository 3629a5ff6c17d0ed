"""Real gateway processes: SIGTERM during in-flight requests loses no acknowledged event; several workers."""

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.topics import EVENTS_TOPIC
from tests.gateway.test_events_route import order
from tests.support import consume_until, metric_value, ready_workers, record_of, wait_ready

pytestmark = pytest.mark.integration
KEY = {"X-API-Key": "test-key"}


def _wait_exit(pid: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").is_file() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} did not exit after SIGTERM")


class _EventIds:
    """A `consume_until` condition that decodes each message once (thousands of events: no quadratic re-reads)."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.found: set[str] = set()
        self.decoded = 0

    def __call__(self, msgs: list[Any]) -> bool:
        self.found.update(record_of(m).get("event_id") for m in msgs[self.decoded :])
        self.decoded = len(msgs)
        return self.wanted <= self.found


def test_sigterm_during_in_flight_requests_loses_no_acknowledged_event(
    kafka_bootstrap, gateway_factory, consumer_factory
):
    gw = gateway_factory(kafka_bootstrap, WEIR_SHUTDOWN_DRAIN_S="1")
    wait_ready(gw.url)
    pid = gw.service.pid()
    assert pid is not None
    accepted: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def post_until_refused() -> None:
        with httpx.Client(base_url=gw.url, headers=KEY, timeout=30) as client:
            for _ in range(10_000):
                batch = [order() for _ in range(20)]
                try:
                    r = client.post("/v1/events/batch", json=batch)
                except httpx.HTTPError:
                    return  # the listener closed
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code in (202, 207):
                        accepted.extend(x["event_id"] for x in r.json()["results"] if x["status"] == "accepted")

    threads = [threading.Thread(target=post_until_refused) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    os.kill(pid, signal.SIGTERM)
    ready = httpx.get(f"{gw.url}/readyz", timeout=5)
    assert ready.status_code == 503, "readiness goes false at once"
    assert ready.json()["status"] == "stopping"
    for t in threads:
        t.join(timeout=60)
    _wait_exit(pid)
    assert accepted, statuses
    assert set(statuses) <= {202, 503}, statuses
    log = gw.service.log_file.read_text()
    assert "still unacknowledged" not in log

    wanted = set(accepted)
    collected = _EventIds(wanted)
    consume_until(consumer_factory(EVENTS_TOPIC), collected, timeout_s=60)
    missing = wanted - collected.found
    assert not missing, f"{len(missing)} of {len(wanted)} acknowledged events are not in Kafka"


def test_several_workers_each_with_a_producer_and_a_clean_stop(kafka_bootstrap, gateway_factory):
    gw = gateway_factory(kafka_bootstrap, WEIR_GATEWAY_WORKERS="2")
    pid, workers = ready_workers(gw, 2)
    with httpx.Client(base_url=gw.url, headers=KEY, timeout=30) as client:
        for _ in range(10):
            assert client.post("/v1/events", json=order()).status_code == 202
    # Each worker process ran its own lifespan (so made its own producer).
    assert gw.service.log_file.read_text().count("Application startup complete") >= 2
    os.kill(pid, signal.SIGTERM)
    _wait_exit(pid)
    for worker in workers:
        _wait_exit(worker)


def test_with_several_workers_every_scrape_counts_every_worker(kafka_bootstrap, gateway_factory):
    """Each request on its own connection, so both workers serve some; whichever worker answers a scrape,
    `/metrics` counts the events of both (prometheus-client's multiprocess mode)."""
    gw = gateway_factory(kafka_bootstrap, WEIR_GATEWAY_WORKERS="2")
    ready_workers(gw, 2)
    n = 40
    for _ in range(n):
        assert httpx.post(f"{gw.url}/v1/events", json=order(), headers=KEY, timeout=30).status_code == 202
    accepted = {"outcome": "accepted", "tenant": "acme"}
    scrapes = [
        metric_value(httpx.get(f"{gw.url}/metrics", timeout=10).text, "weir_gateway_events_total", **accepted)
        for _ in range(12)
    ]
    assert scrapes == [n] * len(scrapes)
