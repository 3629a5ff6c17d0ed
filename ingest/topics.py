"""Topic names and specs of ../shared/CONTRACT.md."""

from dataclasses import dataclass, field

EVENTS_TOPIC = "weir.events.v1"
DQ_FAILURES_TOPIC = "weir.dq-failures.v1"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int = 1
    config: dict[str, str] = field(default_factory=dict)


def default_topics(partitions: int = 3, replication_factor: int = 1) -> list[TopicSpec]:
    """The topics every Weir deployment has. `min.insync.replicas` follows the replication factor so that
    acks=all means what it says on a real cluster and still works on a one-broker laptop."""
    min_isr = str(max(1, min(2, replication_factor - 1)))
    common = {"min.insync.replicas": min_isr, "compression.type": "producer"}
    return [
        TopicSpec(EVENTS_TOPIC, partitions, replication_factor, {**common, "retention.ms": str(7 * 86_400_000)}),
        TopicSpec(DQ_FAILURES_TOPIC, partitions, replication_factor, {**common, "retention.ms": str(14 * 86_400_000)}),
    ]
