"""Kafka administration: wait for a cluster, create Weir's topics idempotently."""

import logging
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from ingest.exceptions import BrokerUnavailable
from ingest.topics import TopicSpec

_log = logging.getLogger("ingest.admin.librdkafka")
_log.addHandler(logging.NullHandler())  # reconnect chatter reaches only apps that configure logging


def admin_client(bootstrap: str) -> AdminClient:
    # librdkafka's own log goes through `logging` (not raw stderr), where callers can silence it.
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "socket.connection.setup.timeout.ms": 3000,
        "reconnect.backoff.ms": 200,
        "logger": _log,
    }
    return AdminClient(config)


def wait_for_cluster(bootstrap: str, timeout_s: float = 60.0) -> int:
    """Block until the cluster answers a metadata request; returns its broker count."""
    deadline = time.monotonic() + timeout_s
    client = admin_client(bootstrap)
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            meta = client.list_topics(timeout=2)
            if meta.brokers:
                return len(meta.brokers)
        except KafkaException as exc:
            last = exc
        time.sleep(0.25)
    raise BrokerUnavailable(f"no Kafka answered at {bootstrap} within {timeout_s:.0f}s ({last})")


def create_topics(bootstrap: str, specs: Iterable[TopicSpec], timeout_s: float = 30.0) -> dict[str, str]:
    """Create the topics that do not exist yet; returns {topic: "created" | "exists"}."""
    client = admin_client(bootstrap)
    specs = list(specs)
    futures = client.create_topics(
        [NewTopic(s.name, s.partitions, s.replication_factor, config=dict(s.config)) for s in specs],
        request_timeout=timeout_s,
    )
    outcome: dict[str, str] = {}
    for name, fut in futures.items():
        try:
            fut.result(timeout=timeout_s)
            outcome[name] = "created"
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                outcome[name] = "exists"
            else:
                raise BrokerUnavailable(f"could not create topic {name}: {exc}") from exc
    # Topic metadata propagates asynchronously; wait until every topic has leaders for all its partitions.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        meta = client.list_topics(timeout=5)
        if all(
            s.name in meta.topics
            and meta.topics[s.name].error is None
            and len(meta.topics[s.name].partitions) == s.partitions
            and all(p.leader >= 0 for p in meta.topics[s.name].partitions.values())
            for s in specs
        ):
            return outcome
        time.sleep(0.2)
    raise BrokerUnavailable(f"topics {sorted(outcome)} have no leaders after {timeout_s:.0f}s")
