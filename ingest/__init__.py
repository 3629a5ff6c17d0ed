"""Weir's ingest layer: the event envelope, the Kafka topics, and the Kafka clients (async producer, admin, and
the DQ-failure subscriber `FailureSubscriber`), and Weir's default local home (`ingest.home`: the CLI and the
services agree on it).

Everything that talks to Kafka on the Python side goes through here; it depends on `quality` only.
"""

from ingest.envelope import EventEnvelope, envelope_error_list, stamp
from ingest.failures import FailureRecord, FailureSubscriber, decode
from ingest.topics import DQ_FAILURES_TOPIC, EVENTS_TOPIC, TopicSpec, default_topics

__all__ = [
    "DQ_FAILURES_TOPIC",
    "EVENTS_TOPIC",
    "EventEnvelope",
    "FailureRecord",
    "FailureSubscriber",
    "TopicSpec",
    "decode",
    "default_topics",
    "envelope_error_list",
    "stamp",
]
