"""The stream at scale, end to end (issue #12): 50,000+ events over 120 event dates POSTed through the real gateway
(with re-sent copies, rule breakers, and envelopes the gateway rejects), a few unusable records written straight
to Kafka, the real `weir stream` process; then silver, quarantine and bronze are reconciled by event_id with
delta-rs (no Spark in the test process)."""

import json
import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from confluent_kafka import Consumer, Producer, TopicPartition

from ingest.admin import create_topics
from ingest.topics import EVENTS_TOPIC, TopicSpec
from tests.support import free_port, wait_ready
from weir.stack.lake import read_rows
from weir.stack.paths import REPO_ROOT, Home
from weir.stack.procs import Service

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

EVENT_TYPE = "scale.order"
DISTINCT, DATES, PER_REQUEST = 50_400, 120, 900  # the gateway takes up to 1,000 per request: room for re-sends
BAD_SHARE = 0.04  # negative amounts: the contract's one blocking rule sends them to quarantine
RESENT = 600  # copies of earlier events, same envelope, posted again later (half soon, half at the very end)
GARBAGE, UNSTAMPED, REJECTED = 12, 8, 5  # not JSON / no gateway stamp (both straight to Kafka) / 422 at the edge


def write_contracts(directory: Path) -> Path:
    directory.mkdir(parents=True)
    contract = {
        "event_type": EVENT_TYPE,
        "schema_versions": [1],
        "edge_validation": False,  # the gateway accepts rule breakers: the stream judges them
        "rules": [
            {"id": "amount-non-negative", "rule": "non_negative", "field": "payload.amount", "severity": "quarantine"},
            {"id": "note-trimmed", "rule": "trimmed", "field": "payload.note", "severity": "warn"},
        ],
    }
    default = {"event_type": "_default", "schema_versions": [1], "rules": []}
    (directory / f"{EVENT_TYPE}.yaml").write_text(yaml.safe_dump(contract))
    (directory / "_default.yaml").write_text(yaml.safe_dump(default))
    return directory


def events(rng: random.Random) -> tuple[list[dict[str, Any]], set[str]]:
    """DISTINCT envelopes spread over DATES dates, and the ids of those that break the blocking rule."""
    first = (datetime.now(UTC) - timedelta(days=DATES + 10)).replace(hour=0, minute=0, second=0, microsecond=0)
    out, bad = [], set()
    for i in range(DISTINCT):
        occurred = first + timedelta(days=i % DATES, seconds=rng.randrange(86_400))
        amount = round(rng.uniform(1, 500), 2)
        if rng.random() < BAD_SHARE:
            amount = -amount
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_type": EVENT_TYPE,
            "schema_version": 1,
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "source": "test-scale",
            "payload": {"order_id": f"A-{i}", "amount": amount, "note": rng.choice(["ok", " padded "])},
        }
        if amount < 0:
            bad.add(event["event_id"])
        out.append(event)
    return out, bad


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"scale-{uuid.uuid4()}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def post_all(url: str, requests: list[list[dict[str, Any]]]) -> Counter[int]:
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=url, headers={"X-API-Key": "test-key"}, timeout=60) as client:
        for body in requests:
            answer = client.post(
                "/v1/events/batch", content=orjson.dumps(body), headers={"Content-Type": "application/json"}
            )
            statuses[answer.status_code] += 1
            if answer.status_code == 207:
                assert answer.json()["rejected"] == REJECTED, answer.text
                assert answer.json()["unavailable"] == 0, answer.text
            else:
                assert answer.status_code == 202, answer.text
    return statuses


def test_50k_events_over_120_dates_reconcile_by_event_id(kafka_bootstrap, jars_home, gateway_factory, tmp_path):
    rng = random.Random(12)
    contracts = write_contracts(tmp_path / "contracts")
    sent, bad = events(rng)
    originals = rng.sample(range(DISTINCT // 2), RESENT)
    resent = [sent[i] for i in originals]
    requests = [sent[i : i + PER_REQUEST] for i in range(0, DISTINCT, PER_REQUEST)]
    for n, i in enumerate(originals[: RESENT // 2]):  # one to five requests after the original's
        requests[i // PER_REQUEST + 1 + n % 5].append(sent[i])
    requests.append(resent[RESENT // 2 :])  # ... and minutes later, in the last request
    rejected = [{"event_id": str(uuid.uuid4()), "event_type": EVENT_TYPE, "payload": {}} for _ in range(REJECTED)]
    requests[-1].extend(rejected)  # no occurred_at: the gateway refuses them (207, 5 rejected)
    assert max(len(r) for r in requests) <= 1_000

    failures_topic = f"scale.failures.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [TopicSpec(failures_topic, 2)])
    start = end_offsets(kafka_bootstrap, EVENTS_TOPIC)  # the shared topic's history is not this test's
    gateway = gateway_factory(kafka_bootstrap, WEIR_CONTRACTS_DIR=str(contracts))
    wait_ready(gateway.url)
    home = Home(tmp_path / "stream").ensure()
    lake = tmp_path / "lake"
    env = {
        "WEIR_HOME": str(home.root),
        "WEIR_LAKE_URI": str(lake),
        "WEIR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WEIR_EVENTS_TOPIC": EVENTS_TOPIC,
        "WEIR_FAILURES_TOPIC": failures_topic,
        "WEIR_STARTING_OFFSETS": json.dumps({EVENTS_TOPIC: {str(p): o for p, o in start.items()}}),
        "WEIR_CONTRACTS_DIR": str(contracts),
        "WEIR_STREAM_METRICS_PORT": str(free_port()),
        "WEIR_SPARK_JARS_DIR": str(jars_home.jars / "spark"),
        "WEIR_SPARK_DRIVER_MEMORY": "1g",
        "WEIR_TRIGGER_SECONDS": "1",
    }
    job = Service("stream", home)
    job.start([sys.executable, "-m", "weir", "stream"], env=env, cwd=REPO_ROOT)
    try:
        statuses = post_all(gateway.url, requests)
        # Records no gateway would publish, straight to the events topic: garbage, and envelopes with no stamp.
        unstamped = [str(uuid.uuid4()) for _ in range(UNSTAMPED)]
        producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
        for i in range(GARBAGE):
            producer.produce(EVENTS_TOPIC, value=f"\x00not json {i}".encode())
        for event_id in unstamped:
            producer.produce(EVENTS_TOPIC, value=orjson.dumps({**sent[0], "event_id": event_id}))
        assert producer.flush(30) == 0
        records = DISTINCT + RESENT + GARBAGE + UNSTAMPED
        distinct = DISTINCT + GARBAGE + UNSTAMPED

        def count(table: str, column: str) -> int:
            return len(read_rows(str(lake / table), [column]))

        deadline = time.monotonic() + 150
        while True:
            done = count("bronze/events", "kafka_offset") >= records
            done = done and count("silver/events", "event_id") + count("quarantine/events", "quarantine_id") >= distinct
            if done:
                break
            assert job.pid() is not None, job.log_file.read_text()[-3000:]
            assert time.monotonic() < deadline, f"the job did not catch up: {job.log_file.read_text()[-2000:]}"
            time.sleep(2)
        time.sleep(2)  # one more trigger: anything written twice would show now
    finally:
        job.stop(timeout_s=60)
    assert statuses == Counter({202: len(requests) - 1, 207: 1})

    bronze = read_rows(str(lake / "bronze/events"), ["event_id", "kafka_offset"])
    assert len(bronze) == records, "bronze holds every record the gateway or the producer wrote, once"
    expected_bronze = Counter(e["event_id"] for r in requests for e in r) - Counter(e["event_id"] for e in rejected)
    expected_bronze.update(unstamped)
    expected_bronze[None] = GARBAGE  # no usable envelope: no event_id
    assert Counter(row["event_id"] for row in bronze) == expected_bronze

    silver = read_rows(str(lake / "silver/events"), ["event_id", "event_date", "dq_warnings"])
    quarantine = [row["quarantine_id"] for row in read_rows(str(lake / "quarantine/events"), ["quarantine_id"])]
    in_silver = [row["event_id"] for row in silver]
    assert len(in_silver) == len(set(in_silver)), "an event twice in silver"
    assert len(quarantine) == len(set(quarantine)), "an event twice in quarantine"
    assert not set(in_silver) & set(quarantine), "an event in both silver and quarantine"
    ids = {e["event_id"] for e in sent}
    assert set(in_silver) == ids - bad, "silver holds exactly the events that pass"
    garbage = {q for q in quarantine if q.startswith("kafka:")}
    assert len(garbage) == GARBAGE
    assert set(quarantine) - garbage == bad | set(unstamped), "quarantine holds exactly the events that fail"
    assert len({row["event_date"] for row in silver}) == DATES
    warned = {row["event_id"] for row in silver if row["dq_warnings"]}
    assert warned == {e["event_id"] for e in sent if e["payload"]["note"] != "ok"} - bad
