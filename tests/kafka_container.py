"""The session broker where a Docker engine answers: the official Apache Kafka 4 image, configured like
`weir.stack.kafka.LocalKafka` (one KRaft node, broker and controller).

Not testcontainers' `KafkaContainer`: it is written for Confluent's images (its `with_kraft()` compares the tag with
Confluent's 7.0.0, and its start script runs Confluent's `/etc/confluent/docker/*`). The apache/kafka image is
configured by environment alone: every `KAFKA_*` variable becomes a server property (`utility render-properties`:
a `_` is a `.`, `__` a `_`, `___` a `-`), defaults fill what is unset (`configureDefaults`), and `launch` formats the
storage with `CLUSTER_ID` against `controller.quorum.voters`. The client port is bound to the same host port and
advertised as such, so the advertised address is known before the container starts.

`tests/test_docker_kafka.py` runs this configuration without Docker on every `make test`: it checks what the
container would be given (image, environment, ports, wait) and starts a real Kafka 4.1 broker, from the jars
`weir jars` fetched, on the server properties the image would derive from that environment.
"""

import re
from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from weir.stack.kafka import new_cluster_id

IMAGE = "apache/kafka:4.1.1"  # the same Kafka as infra/maven/kafka/pom.xml
# KafkaRaftServer's line once the node serves ("[KafkaRaftServer nodeId=1] Kafka Server started").
STARTED = re.compile(r"\[KafkaRaftServer nodeId=\d+\] Kafka Server started")
CONTAINER_LOG_DIR = "/tmp/kraft-combined-logs"  # the image's own default, writable by its `appuser`


def kafka_env(
    port: int, *, advertised_host: str, controller_port: int = 9093, cluster_id: str, log_dir: str = CONTAINER_LOG_DIR
) -> dict[str, str]:
    """The image's environment: every variable its `configureDefaults` would otherwise fill, so that no default
    listener (its PLAINTEXT_HOST on 9092) sneaks in, plus what `LocalKafka` sets for a test broker."""
    return {
        "CLUSTER_ID": cluster_id,
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://0.0.0.0:{controller_port}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{advertised_host}:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@localhost:{controller_port}",
        "KAFKA_LOG_DIRS": log_dir,
        "KAFKA_NUM_PARTITIONS": "3",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "3",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }


class ApacheKafkaContainer(DockerContainer):
    """One apache/kafka KRaft node whose client port `port` is bound to the same host port.

    `docker_client_kw` goes to docker-py: `{"version": "1.44"}` builds the container without asking a daemon for
    its API version, which is how the configuration is checked on a machine without Docker."""

    def __init__(
        self,
        port: int,
        *,
        image: str = IMAGE,
        advertised_host: str | None = None,
        controller_port: int = 9093,
        startup_timeout_s: float = 120,
        docker_client_kw: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(image, docker_client_kw=docker_client_kw)
        self.port = port
        self.advertised_host = advertised_host or self.get_docker_client().host()
        env = kafka_env(
            port, advertised_host=self.advertised_host, controller_port=controller_port, cluster_id=new_cluster_id()
        )
        self.with_envs(**env)
        self.with_bind_ports(port, port)
        self.waiting_for(LogMessageWaitStrategy(STARTED).with_startup_timeout(startup_timeout_s))

    @property
    def bootstrap(self) -> str:
        return f"{self.advertised_host}:{self.port}"


# The image's `configureDefaults` (Kafka 4.1): the value of each variable that is unset or empty.
IMAGE_DEFAULTS = {
    "CLUSTER_ID": "5L6g3nShT-eMCtK--X86sw",
    "KAFKA_NODE_ID": "1",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
    "KAFKA_LISTENERS": "PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092",
    "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://localhost:29092,PLAINTEXT_HOST://localhost:9092",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:29093",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_LOG_DIRS": "/tmp/kraft-combined-logs",
}
# kafka-propertiesSpec.json: KAFKA_* variables that are the scripts', not server properties.
NOT_PROPERTIES = {
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPT",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
}
_SINGLE = re.compile(r"[^_]_[^_]")


def property_name(variable: str) -> str:
    """The image's `ConvertKey`, applied after `KAFKA_` is cut off."""
    single = _SINGLE.sub(lambda m: m.group(0).replace("_", "."), variable)
    return single.replace("___", "-").replace("__", "_").lower()


def image_server_properties(env: dict[str, str]) -> dict[str, str]:
    """The server properties the apache/kafka image derives from `env` (no `server.properties` mounted)."""
    full = {**IMAGE_DEFAULTS, **{k: v for k, v in env.items() if v}}
    return {
        property_name(key.removeprefix("KAFKA_")): value
        for key, value in full.items()
        if key.startswith("KAFKA_") and key not in NOT_PROPERTIES
    }
