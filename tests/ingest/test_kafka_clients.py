import asyncio
import time
import uuid

import pytest

from ingest.admin import create_topics
from ingest.exceptions import BrokerUnavailable
from ingest.producer import AsyncProducer
from ingest.topics import EVENTS_TOPIC, TopicSpec, default_topics
from tests.support import consume_until, free_port

pytestmark = pytest.mark.integration


def test_create_topics_is_idempotent(kafka_bootstrap):
    name = f"weir.test.{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(name, partitions=2)
    assert create_topics(kafka_bootstrap, [spec]) == {name: "created"}
    assert create_topics(kafka_bootstrap, [spec]) == {name: "exists"}
    assert set(create_topics(kafka_bootstrap, default_topics()).values()) == {"exists"}


def test_send_many_returns_only_after_the_broker_acked(kafka_bootstrap, consumer_factory):
    marker = uuid.uuid4().hex
    records = [(f"{marker}-{i}".encode(), f'{{"n":{i}}}'.encode()) for i in range(50)]
    producer = AsyncProducer(kafka_bootstrap, delivery_timeout_ms=10_000)
    try:
        errors = asyncio.run(producer.send_many(EVENTS_TOPIC, records))
    finally:
        producer.close()
    assert errors == [None] * 50
    consumer = consume_until(
        consumer_factory(EVENTS_TOPIC),
        lambda seen: sum((m.key() or b"").decode().startswith(marker) for m in seen) == 50,
    )
    mine = [m.key() for m in consumer if (m.key() or b"").decode().startswith(marker)]
    assert sorted(mine) == sorted(k for k, _ in records)


def test_send_to_an_unreachable_cluster_fails_within_the_delivery_timeout():
    producer = AsyncProducer(f"127.0.0.1:{free_port()}", delivery_timeout_ms=1500)
    started = time.monotonic()
    try:
        with pytest.raises(BrokerUnavailable, match="did not acknowledge"):
            asyncio.run(producer.send(EVENTS_TOPIC, b"k", b"v"))
    finally:
        producer.close(timeout_s=1)
    assert time.monotonic() - started < 10
    assert producer.check_connection(0.5) is False
