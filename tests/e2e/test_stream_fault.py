"""Fault test: `kill -9` the streaming job (its Python driver and JVM together, as when a node dies) in the middle
of a load of 20,000+ events, restart it, and reconcile by event_id: nothing lost, nothing duplicated in silver or
quarantine, every failing event published."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import orjson
import pytest
from confluent_kafka import Consumer, Producer

from ingest.admin import create_topics
from ingest.topics import TopicSpec
from tests.streaming.support import CONTRACTS_DIR, record
from tests.support import free_port
from weir.stack.lake import column
from weir.stack.paths import REPO_ROOT, Home
from weir.stack.procs import Service

pytestmark = pytest.mark.e2e

VALID, BAD, DUPLICATES, GARBAGE = 18_000, 1_500, 500, 20


def load(bootstrap, topic, valid, bad, rate_per_s, done):
    """Produce the load at a steady rate: valid events, quarantine-level ones, re-sent copies, garbage."""
    rng = random.Random(7)
    records = [record(event_id=i, payload={"amount": 1}) for i in valid]
    records += [record(event_id=i, payload={"amount": -1}) for i in bad]
    records += [record(event_id=i, payload={"amount": 1}) for i in rng.sample(valid, DUPLICATES)]
    records += [f"\x00garbage {i}".encode() for i in range(GARBAGE)]
    rng.shuffle(records)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    started = time.monotonic()
    for n, value in enumerate(records):
        producer.produce(topic, value=value)
        if n % 200 == 0:
            producer.poll(0)
            ahead = n / rate_per_s - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    assert producer.flush(30) == 0
    done.set()


def job_env(home, bootstrap, jars_home, topic, failures_topic):
    """`weir stream`'s environment: private topics, the streaming tests' contracts, a small driver."""
    return {
        "WEIR_HOME": str(home.root),
        "WEIR_KAFKA_BOOTSTRAP": bootstrap,
        "WEIR_EVENTS_TOPIC": topic,
        "WEIR_FAILURES_TOPIC": failures_topic,
        "WEIR_CONTRACTS_DIR": str(CONTRACTS_DIR),
        "WEIR_STREAM_METRICS_PORT": str(free_port()),
        "WEIR_SPARK_JARS_DIR": str(jars_home.jars / "spark"),
        "WEIR_SPARK_DRIVER_MEMORY": "1g",
    }


def wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def test_kill_9_mid_load_then_restart_loses_and_duplicates_nothing(kafka_bootstrap, jars_home, tmp_path):
    topic, failures_topic = (f"fault.{name}.{uuid.uuid4().hex[:8]}" for name in ("events", "failures"))
    create_topics(kafka_bootstrap, [TopicSpec(topic, 3), TopicSpec(failures_topic, 3)])
    home = Home(tmp_path / "home").ensure()
    env = job_env(home, kafka_bootstrap, jars_home, topic, failures_topic)
    env.update({"WEIR_TRIGGER_SECONDS": "1", "WEIR_MAX_OFFSETS_PER_TRIGGER": "4000"})
    job = Service("stream", home)
    argv = [sys.executable, "-m", "weir", "stream"]
    lake = str(home.lake_uri)
    silver = f"{lake}/silver/events"
    valid = [str(uuid.uuid4()) for _ in range(VALID)]
    bad = [str(uuid.uuid4()) for _ in range(BAD)]
    done = threading.Event()
    producer = threading.Thread(target=load, args=(kafka_bootstrap, topic, valid, bad, 1000, done), daemon=True)

    job.start(argv, env=env, cwd=REPO_ROOT)
    try:
        wait(lambda: "streaming " in job.log_file.read_text(), 240, "the job to start its query")
        producer.start()
        wait(lambda: os.path.isdir(silver) and len(column(silver, "event_id")) > 0, 240, "the first rows in silver")
        pid = job.pid()
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)  # driver and JVM at once, mid-load (and most likely mid-batch)
        wait(lambda: job.pid() is None, 30, "the killed job to be gone")
        killed_at = len(column(silver, "event_id"))
        assert killed_at < VALID, "the job had caught up before the crash: make the load longer"
        job.start(argv, env=env, cwd=REPO_ROOT)
        producer.join(120)
        assert done.is_set()
        quarantine = f"{lake}/quarantine/events"
        expected = VALID + BAD + GARBAGE

        def caught_up() -> bool:
            if not os.path.isdir(quarantine):
                return False
            return len(column(silver, "event_id")) + len(column(quarantine, "quarantine_id")) >= expected

        wait(caught_up, 300, "the restarted job to catch up")
        time.sleep(3)  # one more trigger: anything written twice would show now
    finally:
        job.stop(timeout_s=60)

    in_silver = column(silver, "event_id")
    in_quarantine = column(quarantine, "quarantine_id")
    assert len(in_silver) == len(set(in_silver)), "duplicates in silver"
    assert len(in_quarantine) == len(set(in_quarantine)), "duplicates in quarantine"
    assert set(in_silver) == set(valid), "lost or misrouted events in silver"
    assert set(in_quarantine) - set(bad) == {q for q in in_quarantine if q.startswith("kafka:")}
    assert set(bad) <= set(in_quarantine)
    assert len(in_quarantine) == BAD + GARBAGE
    bronze = column(f"{lake}/bronze/events", "kafka_offset")
    assert len(bronze) == VALID + BAD + DUPLICATES + GARBAGE, "bronze has every record exactly once"

    # The failure topic is at-least-once: every failing event is there, possibly more than once.
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": f"fault-{uuid.uuid4()}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([failures_topic])
    keys: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(keys) < BAD + GARBAGE:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            keys.add(msg.key().decode())
            assert orjson.loads(msg.value())["failed_rules"]
    consumer.close()
    assert set(bad) <= keys
    assert len(keys) == BAD + GARBAGE


def test_a_fail_rule_stops_weir_stream_with_the_rule_and_event_named(kafka_bootstrap, jars_home, tmp_path):
    topic, failures_topic = (f"poison.{name}.{uuid.uuid4().hex[:8]}" for name in ("events", "failures"))
    create_topics(kafka_bootstrap, [TopicSpec(topic, 1), TopicSpec(failures_topic, 1)])
    poison = str(uuid.uuid4())
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    producer.produce(topic, value=record(payload={"amount": 1}))
    producer.produce(topic, value=record(event_id=poison, payload={"amount": 1, "flag": "poison"}))
    assert producer.flush(10) == 0
    home = Home(tmp_path / "home").ensure()
    env = {**os.environ, **job_env(home, kafka_bootstrap, jars_home, topic, failures_topic)}
    done = subprocess.run(
        [sys.executable, "-m", "weir", "stream", "--available-now"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    log = done.stdout + done.stderr
    want = f"data-quality rule 'no-poison' (severity fail) broke on event {poison} of type shop.order"
    [failed] = [line for line in log.splitlines() if "the streaming query failed" in line]
    assert want in failed  # one line that says it all, not a traceback to dig through
    lake = str(home.lake_uri)
    assert len(column(f"{lake}/bronze/events", "kafka_offset")) == 2  # bronze has the batch...
    assert column(f"{lake}/silver/events", "event_id") == []  # ...silver does not: the line stopped
