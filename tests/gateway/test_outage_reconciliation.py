"""A broker outage under a stream of requests: afterwards, every event the gateway answered 2xx for is in Kafka,
and every event that is not in Kafka was answered with an error. (An event answered with an error may still be
in Kafka: the client retries it with the same `event_id`, and `event_id` is the idempotency key downstream.)"""

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from confluent_kafka import Consumer

from ingest.admin import create_topics
from ingest.topics import EVENTS_TOPIC, default_topics
from tests.support import make_event, record_of

pytestmark = pytest.mark.integration

HEADERS = {"X-API-Key": "test-key"}
ORDER = {"order_id": "A-7", "amount": 3.5, "currency": "EUR"}


@dataclass
class Ledger:
    """What the clients were told, per event_id."""

    accepted: set[str] = field(default_factory=set)
    errored: set[str] = field(default_factory=set)
    answers: dict[int, int] = field(default_factory=dict)  # HTTP status (0: no answer) -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, accepted: list[str], errored: list[str]) -> None:
        with self.lock:
            self.answers[status] = self.answers.get(status, 0) + 1
            self.accepted.update(accepted)
            self.errored.update(errored)

    def accepted_count(self) -> int:
        with self.lock:
            return len(self.accepted)


def _send_single(client: httpx.Client, ledger: Ledger) -> None:
    event = make_event(payload=ORDER)
    try:
        status = client.post("/v1/events", json=event, headers=HEADERS).status_code
    except httpx.HTTPError:
        status = 0
    ok = 200 <= status < 300
    ledger.record(status, [event["event_id"]] if ok else [], [] if ok else [event["event_id"]])


def _send_batch(client: httpx.Client, ledger: Ledger, size: int = 5) -> None:
    events = [make_event(payload=ORDER) for _ in range(size)]
    ids = [e["event_id"] for e in events]
    try:
        response = client.post("/v1/events/batch", json=events, headers=HEADERS)
    except httpx.HTTPError:
        ledger.record(0, [], ids)
        return
    if response.status_code in (202, 207):
        results = response.json()["results"]
        accepted = [r["event_id"] for r in results if r["status"] == "accepted"]
        assert set(accepted) <= set(ids)
        ledger.record(response.status_code, accepted, [i for i in ids if i not in accepted])
    else:
        ledger.record(response.status_code, [], ids)


def _client_loop(url: str, ledger: Ledger, stop: threading.Event, batches: bool) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            if batches and n % 5 == 0:
                _send_batch(client, ledger)
            else:
                _send_single(client, ledger)
            time.sleep(0.01)


def _event_ids_in_kafka(bootstrap: str, want: set[str], timeout_s: float = 90) -> set[str]:
    """Read the topic from the start until every id of `want` is seen and the topic is quiet for a moment."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"weir-outage-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([EVENTS_TOPIC])
    seen: set[str | None] = set()
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                if want <= seen and time.monotonic() - quiet_since > 5:
                    break
                continue
            quiet_since = time.monotonic()
            seen.add(record_of(msg).get("event_id"))
    finally:
        consumer.close()
    return {event_id for event_id in seen if event_id is not None}


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_every_2xx_event_is_in_kafka_and_every_missing_one_was_an_error(broker_factory, gateway_factory):
    broker = broker_factory()
    broker.start()
    create_topics(broker.bootstrap, default_topics())
    gw = gateway_factory(broker.bootstrap, WEIR_DELIVERY_TIMEOUT_MS="2000")
    probe = httpx.post(f"{gw.url}/v1/events/batch", json=[make_event(payload=ORDER)], headers=HEADERS, timeout=30)
    batches = probe.status_code != 404

    ledger = Ledger()
    stop = threading.Event()
    clients = [threading.Thread(target=_client_loop, args=(gw.url, ledger, stop, batches)) for _ in range(3)]
    for t in clients:
        t.start()
    try:
        _wait_for(lambda: ledger.accepted_count() >= 150, 60)
        broker.stop()
        time.sleep(6)  # several delivery timeouts' worth of requests against a dead broker
        during = dict(ledger.answers)
        broker.start()
        before = ledger.accepted_count()
        _wait_for(lambda: ledger.accepted_count() >= before + 150, 90)
    finally:
        stop.set()
        for t in clients:
            t.join(timeout=60)

    assert any(status >= 500 or status == 0 for status in during), f"no error during the outage: {during}"
    in_kafka = _event_ids_in_kafka(broker.bootstrap, ledger.accepted)
    # Every event sent is in exactly one of accepted / errored, so "not in Kafka implies answered with an error"
    # is "accepted implies in Kafka".
    lost = ledger.accepted - in_kafka
    assert not lost, f"{len(lost)} events were answered 2xx but are not in Kafka: {sorted(lost)[:5]}"
    assert not (ledger.accepted & ledger.errored)
    errored_but_written = ledger.errored & in_kafka
    print(
        f"\noutage: answers {dict(sorted(ledger.answers.items()))}; {len(ledger.accepted)} events accepted, "
        f"{len(ledger.errored)} answered with an error, of which {len(errored_but_written)} are in Kafka anyway "
        f"(a client retry with the same event_id covers them); batches: {batches}"
    )
