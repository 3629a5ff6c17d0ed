"""The whole pipeline as a user runs it: `weir up` (real gateway and streaming processes) on the session
broker, events POSTed over HTTP, the Delta tables read back with Spark and with the `deltalake` package."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from ingest.topics import DQ_FAILURES_TOPIC, EVENTS_TOPIC
from tests.support import free_port, make_event
from weir.stack.lake import column
from weir.stack.paths import REPO_ROOT

pytestmark = pytest.mark.e2e


WEIR = Path(sys.executable).with_name("weir")  # the installed console script, as a user runs it


def weir(env, *args, timeout=300):
    return subprocess.run(
        [str(WEIR), *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def stack(kafka_bootstrap, jars_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("weir-home")
    (home / "jars").symlink_to(jars_home.jars)
    env = {
        **os.environ,
        "WEIR_HOME": str(home),
        "WEIR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WEIR_GATEWAY_PORT": str(free_port()),
        "WEIR_STREAM_METRICS_PORT": str(free_port()),
        "WEIR_TRIGGER_SECONDS": "1",
        "WEIR_SPARK_DRIVER_MEMORY": "1g",
    }
    env.pop("WEIR_API_KEYS", None)
    up = weir(env, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    yield env, home, up.stdout
    down = weir(env, "down")
    assert down.returncode == 0, down.stdout + down.stderr


def wait_for_silver(lake: Path, wanted: set[str], timeout_s: float = 180) -> list[str]:
    deadline = time.monotonic() + timeout_s
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [i for i in column(str(lake / "silver/events"), "event_id") if i in wanted]
        if set(found) == wanted:
            return found
        time.sleep(1)
    raise AssertionError(f"{len(set(found))}/{len(wanted)} events reached silver in {timeout_s}s")


def wait_for_bronze(lake: Path, wanted: set[str], rows: int, timeout_s: float = 180) -> list[str]:
    """Bronze's rows of `wanted` once there are `rows` of them: every copy, retries included, was processed (a
    retry can land in a later micro-batch than its original, after silver already holds every id)."""
    deadline = time.monotonic() + timeout_s
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [i for i in column(str(lake / "bronze/events"), "event_id") if i in wanted]
        if len(found) >= rows:
            return found
        time.sleep(1)
    raise AssertionError(f"{len(found)}/{rows} records reached bronze in {timeout_s}s")


def test_n_events_posted_are_in_the_tables_exactly_once(stack, spark):
    env, home, up_output = stack
    key = (home / "api-key").read_text().strip().partition(":")[2]
    assert key in up_output  # `weir up` prints the demo tenant's key
    url = f"http://127.0.0.1:{env['WEIR_GATEWAY_PORT']}"
    events = [make_event(event_type=f"e2e.type{i % 3}") for i in range(60)]
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        for event in events:
            assert client.post("/v1/events", json=event).status_code == 202
        for event in events[:10]:  # a client retry: the same events again
            assert client.post("/v1/events", json=event).status_code == 202
    wanted = {e["event_id"] for e in events}
    lake = home / "lake"

    wait_for_silver(lake, wanted)
    assert len(wait_for_bronze(lake, wanted, 70)) == 70  # the retries were processed too: now dedupe is checkable
    found = [i for i in column(str(lake / "silver/events"), "event_id") if i in wanted]
    assert sorted(found) == sorted(wanted)  # deltalake, an independent reader: each id exactly once

    silver = spark.read.format("delta").load(str(lake / "silver/events"))
    rows = silver.where(silver.event_id.isin(list(wanted))).select("event_id", "tenant", "event_type").collect()
    assert sorted(r.event_id for r in rows) == sorted(wanted)
    assert {r.tenant for r in rows} == {"demo"}
    bronze = spark.read.format("delta").load(str(lake / "bronze/events"))
    assert bronze.where(bronze.event_id.isin(list(wanted))).count() == 70  # as received, retries included

    metrics = httpx.get(f"http://127.0.0.1:{env['WEIR_STREAM_METRICS_PORT']}/metrics").text
    assert "weir_stream_batches_total" in metrics


def test_status_reports_the_running_services(stack):
    env, home, _ = stack
    status = json.loads(weir(env, "status", "--json").stdout)
    assert status["gateway"].startswith("running")
    assert status["stream"].startswith("running")
    assert "kafka" not in status  # an external cluster: nothing started, nothing to report
    assert status["lake"] == str(home / "lake")


def test_demo_prints_what_happened(stack):
    env, home, _ = stack
    demo = weir(env, "demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    assert "13 accepted (202" in out
    assert "3 rejected (422)" in out
    assert "bronze     : 14 rows for this run" in out  # read from bronze: the 13 accepted and the raw record
    assert "silver     : 10 rows for this run" in out
    assert "quarantine : 3 rows for this run" in out
    assert "payment-amount-positive (quarantine)" in out
    assert "envelope.unparseable (quarantine)" in out
    assert "failures   : 4 messages read back from weir.dq-failures.v1" in out
    assert "warnings: email-format (warn)" in out
    assert str(home / "lake") in out
    assert "make down" in out


def test_bad_input_to_the_cli_is_a_clear_error(stack):
    env, _, _ = stack
    bad = weir({**env, "WEIR_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}, "topics", "create", "--timeout", "3")
    assert bad.returncode == 1
    assert "no Kafka answered" in bad.stderr
    assert "Traceback" not in bad.stderr


def _payment(**payload):
    return make_event(
        event_type="payment.captured",
        payload={"payment_id": "p-1", "order_id": "A-1", "amount": 10.0, "currency": "EUR", **payload},
    )


def test_data_quality_routes_every_event_and_publishes_each_failure(stack, kafka_bootstrap, producer_factory):
    """Through the real gateway, broker and job: valid, warn-level, quarantine-level, unknown-version,
    unparseable and duplicate events end up exactly where they belong, and the failure topic names their rules."""
    env, home, _ = stack
    key = (home / "api-key").read_text().strip().partition(":")[2]
    url = f"http://127.0.0.1:{env['WEIR_GATEWAY_PORT']}"
    failures_from = watermarks(kafka_bootstrap, DQ_FAILURES_TOPIC)
    valid = [_payment() for _ in range(3)]
    warn = _payment(order_id="X-9")
    quarantine = [_payment(amount=0), _payment(currency="EURO", order_id="bad")]
    unknown_version = {**_payment(), "schema_version": 5}
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        batch = [*valid, warn, *quarantine, unknown_version]
        response = client.post("/v1/events/batch", json=batch)
        assert response.status_code == 202, response.text
        for event in [valid[0], quarantine[0]]:  # retries of a good and a bad event
            assert client.post("/v1/events", json=event).status_code == 202
    producer = producer_factory()
    # Coordinates by value: without a key the two records may land on different partitions, and their
    # acknowledgements then come back in either order.
    coordinates: dict[bytes, str] = {}
    for i in range(2):
        producer.produce(
            EVENTS_TOPIC,
            value=f"\x00garbage {i}".encode(),
            on_delivery=lambda err, msg: coordinates.update(
                {msg.value(): f"kafka:{msg.topic()}/{msg.partition()}/{msg.offset()}"}
            ),
        )
    assert producer.flush(10) == 0
    raw_ids = [coordinates[f"\x00garbage {i}".encode()] for i in range(2)]

    lake = home / "lake"
    want_silver = {e["event_id"] for e in [*valid, warn]}
    want_quarantine = {e["event_id"] for e in [*quarantine, unknown_version]} | set(raw_ids)
    wait_for_silver(lake, want_silver)
    wait_for_bronze(lake, {e["event_id"] for e in [*batch, valid[0], quarantine[0]]}, 9)  # the retries too
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        quarantined = [q for q in column(str(lake / "quarantine/events"), "quarantine_id") if q in want_quarantine]
        if set(quarantined) == want_quarantine:
            break
        time.sleep(1)
    everything = want_silver | want_quarantine
    silver = [i for i in column(str(lake / "silver/events"), "event_id") if i in everything]
    quarantined = [q for q in column(str(lake / "quarantine/events"), "quarantine_id") if q in everything]
    assert sorted(silver) == sorted(want_silver)  # exactly once each, and no bad event
    assert sorted(quarantined) == sorted(want_quarantine)  # exactly once each, the retry included
    bronze = [i for i in column(str(lake / "bronze/events"), "event_id") if i in everything]
    assert len(bronze) == 7 + 2  # every accepted record as received, retries included (raw ones have no id)

    want_rules = {
        warn["event_id"]: {"payment-order-id-format"},
        quarantine[0]["event_id"]: {"payment-amount-positive"},
        quarantine[1]["event_id"]: {"payment-currency-iso", "payment-order-id-format"},
        unknown_version["event_id"]: {"envelope.schema_version"},
        raw_ids[0]: {"envelope.unparseable"},
        raw_ids[1]: {"envelope.unparseable"},
    }
    messages = read_keys(kafka_bootstrap, failures_from, set(want_rules))
    assert {k: {r["rule"] for r in m["failed_rules"]} for k, m in messages.items()} == want_rules
    assert messages[warn["event_id"]]["event"]["payload"]["order_id"] == "X-9"
    assert messages[warn["event_id"]]["tenant"] == "demo"
    assert messages[warn["event_id"]]["stage"] == "stream"
    assert messages[raw_ids[0]]["raw"] == "\x00garbage 0"
    assert messages[raw_ids[0]]["event"] is None
    assert not set(messages) & {e["event_id"] for e in valid}


def watermarks(bootstrap, topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"e2e-{uuid.uuid4()}"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return [TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p))[1]) for p in parts]
    finally:
        consumer.close()


def read_keys(bootstrap, start, keys, timeout_s=60):
    """The first message of each key in `keys`, read with a plain consumer from `start`."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"e2e-{uuid.uuid4()}"})
    consumer.assign(start)
    found = {}
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and set(found) != keys:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and msg.key().decode() in keys:
                found.setdefault(msg.key().decode(), orjson.loads(msg.value()))
    finally:
        consumer.close()
    return found
